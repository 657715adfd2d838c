/**
 * The console's only script (served as /console/assets/console.js, never inline: the CSP allows
 * scripts from the router alone). It asks before a form marked `data-confirm` is sent, and
 * refreshes elements marked `data-refresh="<url>"` with the HTML or figures that URL returns.
 * Pages that draw charts register a drawer on `window.kcrCharts`.
 */
export const CONSOLE_JS = `
(function () {
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) e.preventDefault();
  });
  function refresh(el) {
    var url = el.getAttribute('data-refresh');
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var draw = window.kcrCharts && window.kcrCharts[el.getAttribute('data-chart') || ''];
        if (draw) draw(el, data);
        el.setAttribute('data-refreshed-at', new Date().toISOString());
      })
      .catch(function () {});
  }
  function start() {
    var els = document.querySelectorAll('[data-refresh]');
    els.forEach(function (el) {
      refresh(el);
      var every = Number(el.getAttribute('data-every') || 5000);
      setInterval(function () { refresh(el); }, every);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
`;
