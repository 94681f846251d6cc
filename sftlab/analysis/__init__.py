"""Reading results back: paper-style tables, curves over checkpoints, weight dynamics, and the HTML report.

Modules (imported on demand, so `sftlab --help` stays fast):
- `tables`: `results_table`, `results_tables`, `to_markdown`, `to_csv`, `to_latex`, `to_html`
- `curves`: `plot_metric_curves`, `plot_training_logs`
- `weights`: `l2_to_base`, `relative_change`, `relative_change_heatmap`, `plot_l2`; `lora`: the same for adapters
- `report`: `build_report`, `Section`, `register_section`
- `labels`: split -> (short label, column group); `style`: colours per condition; `sources`: finding inputs
- `dynamics`: dip-and-recovery summaries
"""
