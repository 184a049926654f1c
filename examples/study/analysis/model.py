"""Admission rates by asthma status and region: the cohort stays highly sensitive, the rates are for release."""
import csv
import os
from collections import defaultdict

with open("output/dataset.csv", newline="") as f:
    patients = list(csv.DictReader(f))

os.makedirs("output", exist_ok=True)
with open("output/model_cohort.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["patient_id", "has_asthma", "region", "admitted"])
    for patient in patients:
        writer.writerow([patient["patient_id"], patient["has_asthma"], patient["region"], patient["admitted"]])

groups = defaultdict(lambda: [0, 0])  # (asthma, region) -> [patients, admitted]
for patient in patients:
    group = groups[(patient["has_asthma"], patient["region"])]
    group[0] += 1
    group[1] += int(patient["admitted"])

with open("output/outcome_rates.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["has_asthma", "region", "patients", "admitted", "rate_per_1000"])
    for (asthma, region), (total, admitted) in sorted(groups.items()):
        writer.writerow([asthma, region, total, admitted, round(1000 * admitted / total, 1)])

overall = sum(int(p["admitted"]) for p in patients) / len(patients)
with open("output/model_report.md", "w") as f:
    f.write("# Admissions by asthma status\n\n")
    f.write(f"{len(patients)} patients; overall admission rate {1000 * overall:.1f} per 1,000.\n")
print(f"modelled {len(groups)} groups")
