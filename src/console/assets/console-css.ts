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
/* Overview and Config pages */
#overview-live h3 { font-size: 1rem; margin: 0 0 .4rem; }
#overview-live .chart { margin-bottom: .6rem; }
#overview-live .chart:empty { min-height: 0; }
#overview-live .uplot { font-family: inherit; }
#table-rules td.mono, #table-destinations td.mono { word-break: break-word; }
/* Events and message pages (events.tsx, message.tsx) */
.nowrap { white-space: nowrap; }
.wrap-id { word-break: break-all; }
table.events td { font-size: .9rem; }
table.events td .badge { margin: 0 .2rem .15rem 0; }
table.events a.badge { text-decoration: none; }
td.description { max-width: 22rem; }
.pager a { font-weight: 600; }
ol.timeline { list-style: none; padding: 0; margin: 0; }
.callback h3 { font-size: 1rem; margin: 0 0 .3rem; }
.callback h4 { font-size: .9rem; margin: .8rem 0 .3rem; color: var(--muted); }
.callback details { margin-top: .6rem; }
.callback summary { cursor: pointer; color: var(--accent); }
.delivery { border-left: 3px solid var(--line); padding-left: .7rem; margin: .5rem 0 .9rem; }
.delivery p { margin: .2rem 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table.raw-fields th { width: 10rem; }
@media (max-width: 640px) { dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: .3rem; } }
/* Dead letters, Refused and Try a payload pages (dead-letters.tsx, refused.tsx, try.tsx) */
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.small { font-size: .8rem; }
.error-text { overflow-wrap: anywhere; }
pre.payload { max-height: 14rem; overflow: auto; margin: .2rem 0; }
td.payload-cell { min-width: 14rem; max-width: 32rem; }
p.actions, form.actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.card.confirm { border-color: var(--warn); }
.card.confirm h2 { margin-top: 0; }
a.cancel { padding: .35rem .5rem; }
form.try-form .filters { display: flex; flex-wrap: wrap; gap: .5rem; margin-bottom: .6rem; }
td.why { min-width: 10rem; }
form.try-form select { max-width: 100%; }
#try-event { max-height: 32rem; overflow: auto; }
@media (max-width: 640px) { td.payload-cell { min-width: 12rem; } }

/* Events at phone width: each event a small stacked card instead of a wide row. */
@media (max-width: 640px) {
  table.events thead { display: none; }
  table.events, table.events tbody, table.events tr, table.events td { display: block; width: 100%; }
  table.events tr { border-bottom: 1px solid var(--line); padding: .45rem 0; }
  table.events td { border: 0; padding: .05rem 0; }
  table.events td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: .8rem; font-family: system-ui, sans-serif; }
  table.events td.hide-phone { display: none; }
}
`;
