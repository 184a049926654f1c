"""Stands in for `ehrql:v1 generate-dataset`: one row per patient, patient-level data (highly sensitive)."""
import csv
import os
import random

POPULATION = 1000
rng = random.Random(20240101)  # the same population on every run, as a dataset from a fixed database would be

os.makedirs("output", exist_ok=True)
with open("output/dataset.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["patient_id", "age", "sex", "region", "has_asthma", "admitted"])
    for patient_id in range(1, POPULATION + 1):
        age = min(99, max(18, int(rng.gauss(52, 18))))
        asthma = rng.random() < 0.12
        admitted = rng.random() < (0.04 + age / 1000 + (0.05 if asthma else 0))
        writer.writerow([
            patient_id,
            age,
            rng.choice(["F", "M"]),
            rng.choice(["North", "Midlands", "South", "London"]),
            int(asthma),
            int(admitted),
        ])
print(f"wrote output/dataset.csv: {POPULATION} patients")
