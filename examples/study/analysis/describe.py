"""Counts patients by age band (a table and a chart for release), and, by mistake, a patient list."""
import csv
import os

BANDS = [(18, 39), (40, 59), (60, 79), (80, 99)]
REDACT_BELOW = 8  # small counts are suppressed before release

with open("output/dataset.csv", newline="") as f:
    patients = list(csv.DictReader(f))

counts = {f"{low}-{high}": 0 for low, high in BANDS}
for patient in patients:
    age = int(patient["age"])
    for low, high in BANDS:
        if low <= age <= high:
            counts[f"{low}-{high}"] += 1

os.makedirs("output", exist_ok=True)
with open("output/age_bands.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["age_band", "patients"])
    for band, count in counts.items():
        writer.writerow([band, count if count >= REDACT_BELOW else "[REDACTED]"])

# A bar chart, written as SVG by hand (an allowed level 4 file type).
width, bar_height, gap = 400, 28, 10
largest = max(counts.values()) or 1
rows = []
for i, (band, count) in enumerate(counts.items()):
    y = 30 + i * (bar_height + gap)
    length = int(280 * count / largest)
    rows.append(
        f'<text x="10" y="{y + 19}" font-size="14">{band}</text>'
        f'<rect x="70" y="{y}" width="{length}" height="{bar_height}" fill="#4878a8"/>'
        f'<text x="{75 + length}" y="{y + 19}" font-size="12">{count}</text>'
    )
height = 40 + len(counts) * (bar_height + gap)
with open("output/age_bands.svg", "w") as f:
    f.write(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<text x="10" y="18" font-size="14" font-weight="bold">Patients by age band</text>'
        + "".join(rows)
        + "</svg>\n"
    )

# Patient-level rows in a moderately_sensitive output: the level 4 checks exclude this file.
with open("output/patient_list.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["patient_id", "age"])
    for patient in patients[:20]:
        writer.writerow([patient["patient_id"], patient["age"]])
print(f"described {len(patients)} patients in {len(counts)} age bands")
