/**
 * The Overview's script (served as /console/assets/overview.js, after uplot.js): draws the
 * callbacks-per-minute charts with uPlot and, on every refresh console.js makes of
 * GET /console/overview/figures, redraws them and puts the new rows in the page's tables.
 * The server formats every cell; this only places text (textContent), never HTML.
 */
export const OVERVIEW_JS = `
(function () {
  var CLASS_COLOURS = { delivered: '#1a7f37', undelivered: '#bc4c00', failed: '#cf222e', rejected: '#8250df', pending: '#0b63ce', unknown: '#6e7781' };
  var PALETTE = ['#0b63ce', '#1a7f37', '#bc4c00', '#8250df', '#cf222e', '#1b7c83', '#9a6700', '#6e7781'];
  var HEIGHT = 220;

  function colour(key, name, i) {
    return (key === 'byClass' && CLASS_COLOURS[name]) || PALETTE[i % PALETTE.length];
  }

  function drawChart(box, perMinute) {
    if (typeof window.uPlot !== 'function') return;
    var key = box.getAttribute('data-series');
    var series = perMinute[key] || {};
    var names = Object.keys(series).sort();
    var data = [perMinute.minutes.map(function (m) { return m / 1000; })].concat(names.map(function (n) { return series[n]; }));
    var signature = names.join('\\n');
    if (box.kcrPlot && box.kcrSignature === signature) { box.kcrPlot.setData(data); return; }
    if (box.kcrPlot) box.kcrPlot.destroy();
    box.kcrPlot = null;
    box.kcrSignature = signature;
    box.textContent = '';
    if (names.length === 0) return;
    var opts = {
      width: Math.max(200, box.clientWidth),
      height: HEIGHT,
      scales: { x: { time: true } },
      series: [{}].concat(names.map(function (n, i) { return { label: n, stroke: colour(key, n, i), width: 2, points: { show: false } }; })),
      axes: [{}, { size: 40 }],
    };
    box.kcrPlot = new window.uPlot(opts, data, box);
  }

  function badgeClass(state) {
    return state === 'healthy' ? 'ok' : state === 'retrying' ? 'warn' : 'bad';
  }

  function fillTable(table, t) {
    var tbody = table.tBodies[0];
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    if (t.rows.length === 0) {
      var td = tbody.insertRow().insertCell();
      td.colSpan = t.head.length;
      td.className = 'muted';
      td.textContent = t.empty;
      return;
    }
    t.rows.forEach(function (row) {
      var tr = tbody.insertRow();
      tr.setAttribute('data-key', row[0]);
      row.forEach(function (cell, i) {
        var cellEl = tr.insertCell();
        if (heads[i] && heads[i].className) cellEl.className = heads[i].className;
        if (t.badge === i) {
          var badge = document.createElement('span');
          badge.className = 'badge ' + badgeClass(cell);
          badge.textContent = cell;
          cellEl.appendChild(badge);
        } else cellEl.textContent = cell;
      });
    });
  }

  function draw(el, data) {
    if (data.perMinute) {
      el.querySelectorAll('.chart[data-series]').forEach(function (box) { drawChart(box, data.perMinute); });
      var total = el.querySelector('#overview-total');
      if (total) total.textContent = String(data.perMinute.total);
    }
    if (data.tables) {
      el.querySelectorAll('table[data-table]').forEach(function (table) {
        var t = data.tables[table.getAttribute('data-table')];
        if (t) fillTable(table, t);
      });
    }
    var at = el.querySelector('#overview-at');
    if (at && data.at) at.textContent = data.at;
  }

  window.kcrCharts = window.kcrCharts || {};
  window.kcrCharts.overview = draw;

  function start() {
    document.querySelectorAll('[data-chart="overview"][data-figures]').forEach(function (el) {
      try { draw(el, JSON.parse(el.getAttribute('data-figures'))); } catch (e) { /* the tables still show the figures */ }
    });
  }
  window.addEventListener('resize', function () {
    document.querySelectorAll('.chart[data-series]').forEach(function (box) {
      if (box.kcrPlot) box.kcrPlot.setSize({ width: Math.max(200, box.clientWidth), height: HEIGHT });
    });
  });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
`;
