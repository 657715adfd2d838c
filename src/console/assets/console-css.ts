/** The console's stylesheet: plain CSS, readable at desktop and phone widths, no web fonts. */
export const CONSOLE_CSS = `
:root { --fg: #1d2430; --muted: #5b6474; --bg: #f6f7f9; --card: #fff; --line: #dde1e7; --accent: #0b63ce;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font-size: 15px; line-height: 1.45; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1rem; padding: .6rem 1rem; background: #18202c; color: #fff; }
header.top .brand { font-weight: 600; margin-right: .5rem; }
header.top nav { display: flex; flex-wrap: wrap; gap: .15rem .8rem; flex: 1; }
header.top a { color: #cfd8e6; text-decoration: none; }
header.top a.active, header.top a:hover { color: #fff; text-decoration: underline; }
header.top form { margin: 0; }
main { padding: 1rem; max-width: 1280px; margin: 0 auto; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .6rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; overflow-x: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .85rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; }
pre { white-space: pre-wrap; word-break: break-word; background: #f0f2f5; padding: .6rem; border-radius: 4px; margin: .3rem 0; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid var(--line); white-space: nowrap; }
.badge.ok { color: var(--ok); border-color: var(--ok); } .badge.warn { color: var(--warn); border-color: var(--warn); }
.badge.bad { color: var(--bad); border-color: var(--bad); }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-end; }
label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); gap: .15rem; }
input, select, textarea, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; color: var(--fg); }
textarea { width: 100%; min-height: 10rem; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem; }
button, .button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: var(--fg); border-color: var(--line); }
button.danger { background: var(--bad); border-color: var(--bad); }
.notice { padding: .6rem .8rem; border-radius: 4px; margin-bottom: 1rem; border: 1px solid var(--line); background: #fff; }
.notice.ok { border-color: var(--ok); } .notice.bad { border-color: var(--bad); color: var(--bad); }
.pager { display: flex; gap: 1rem; margin-top: .6rem; }
.login { max-width: 420px; margin: 10vh auto; }
.chart { width: 100%; min-height: 220px; }
@media (max-width: 640px) {
  main { padding: .6rem; } body { font-size: 14px; }
  th, td { padding: .3rem .35rem; }
  .hide-phone { display: none; }
}
`;
