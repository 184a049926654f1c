/** project.yaml texts from scenarios.md §0.4, shared by the create-pipeline tests. */

/** FX-TP: a database action, two preparation steps that need it, and an analysis that needs both. */
export const FX_TP = `version: '1.0'
actions:
  generate_dataset:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output output.csv.gz
    outputs: {highly_sensitive: {cohort: output.csv.gz}}
  prepare_data_1:
    run: stata-mp:latest analysis/prepare_data_1.do
    needs: [generate_dataset]
    outputs: {highly_sensitive: {data: prepared_1.dta}}
  prepare_data_2:
    run: stata-mp:latest analysis/prepare_data_2.do
    needs: [generate_dataset]
    outputs: {highly_sensitive: {data: prepared_2.dta}}
  analyse_data:
    run: stata-mp:latest analysis/analyse_data.do
    needs: [prepare_data_1, prepare_data_2]
    outputs: {moderately_sensitive: {analysis: analysis.txt}}
`;

/** FX-TP+S: FX-TP plus a standalone non-database action. */
export const FX_TP_S = `${FX_TP}  standalone_action:
    run: python:latest analysis/do_something.py
    outputs: {moderately_sensitive: {something: done.txt}}
`;

/** FX-GIT at C_MASTER: a database action and a model that needs it. */
export const FX_GIT = `version: "4.0"
actions:
  generate_dataset:
    run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz
    outputs:
      highly_sensitive:
        dataset: output/dataset.csv.gz
  run_model:
    run: stata-mp:v1 analysis/model.do
    needs: [generate_dataset]
    outputs:
      moderately_sensitive:
        model: models/cox-model.txt
        figure: figures/survival-plot.png
`;

/** FX-ACT: three independent non-database actions. */
export const FX_ACT = `version: '4.0'
actions:
${[1, 2, 3]
  .map(
    (n) => `  action${n}:
    run: python:v2 analysis/a${n}.py
    outputs: {moderately_sensitive: {out: output/a${n}.txt}}
`,
  )
  .join("")}`;
