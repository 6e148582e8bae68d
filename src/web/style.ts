/** The dashboard's stylesheet: system fonts, one column up to 1280 px, readable on a laptop screen. */
export const STYLE = `
:root { --fg:#1d2330; --muted:#5d6778; --line:#e3e6eb; --bg:#f6f7f9; --card:#fff; --accent:#3e7be6; --bad:#d9414e; --warn:#e8912d; --good:#2f9e62; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
header.top { background:#1d2330; color:#fff; padding:0 24px; display:flex; align-items:center; gap:24px; height:48px; }
header.top .brand { font-weight:700; font-size:16px; color:#fff; letter-spacing:.3px; }
header.top nav a { color:#c9d3e6; margin-right:16px; } header.top nav a.on { color:#fff; font-weight:600; }
header.top .right { margin-left:auto; color:#9aa6bd; font-size:12px; }
main { max-width:1280px; margin:0 auto; padding:20px 24px 48px; }
h1, h1.mono { font-size:22px; margin:4px 0 4px; } h2 { font-size:16px; margin:28px 0 10px; } h3 { font-size:14px; margin:16px 0 8px; }
.sub { color:var(--muted); margin-bottom:14px; }
.crumbs { color:var(--muted); font-size:13px; margin-bottom:4px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(170px,1fr)); gap:12px; margin:14px 0 6px; }
.tile .n { font-size:26px; font-weight:650; } .tile .l { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.4px; }
.tile.bad .n { color:var(--bad); } .tile.warn .n { color:var(--warn); } .tile.good .n { color:var(--good); }
table { border-collapse:collapse; width:100%; background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; color:var(--muted); font-weight:600; background:#fafbfc; text-transform:uppercase; letter-spacing:.3px; }
tr:last-child td { border-bottom:none; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.mono, code { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff; white-space:nowrap; }
.dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:6px; vertical-align:0; }
.muted { color:var(--muted); }
.flash { padding:10px 14px; border-radius:6px; margin:10px 0; border:1px solid; }
.flash.ok { background:#eaf6ef; border-color:#b9e0c8; } .flash.error { background:#fdecee; border-color:#f3b8bf; }
.row { display:flex; gap:16px; flex-wrap:wrap; align-items:flex-start; }
.grow { flex:1 1 0; min-width:300px; }
form.inline { display:inline; margin:0; }
button, .btn { font:inherit; font-size:13px; padding:5px 12px; border-radius:6px; border:1px solid #c5ccd8; background:#fff; cursor:pointer; color:var(--fg); }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; } button.primary:hover { background:#2f69cf; }
button.danger { color:var(--bad); border-color:#efb2b9; }
input[type=text] { font:inherit; font-size:13px; padding:4px 8px; border:1px solid #c5ccd8; border-radius:6px; width:150px; }
details > summary { cursor:pointer; }
pre { white-space:pre-wrap; word-break:break-word; background:#f3f4f7; padding:8px 10px; border-radius:6px; margin:6px 0; max-height:320px; overflow:auto; }
.error { color:var(--bad); }
.legend { display:flex; flex-wrap:wrap; gap:14px; font-size:12.5px; color:var(--muted); margin:8px 0; }
.legend i { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
.gridwrap { position:relative; overflow-x:auto; }
.gridtip { position:absolute; pointer-events:none; background:#1d2330; color:#fff; padding:4px 8px; border-radius:4px; font-size:12px; white-space:nowrap; display:none; z-index:5; }
.chart { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px; }
.chart svg { display:block; width:100%; height:auto; }
.attempt { margin:10px 0 16px; }
.attempt > summary { font-weight:600; }
.sample { margin-top:6px; } .sample table { font-size:12px; } .sample td, .sample th { padding:3px 6px; }
td.nowrap { white-space:nowrap; }
.kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; } .kv .k { color:var(--muted); }
`;
