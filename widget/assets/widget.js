/* Brook widget loader: one global (Brook), a Shadow DOM host, and the WASM bundle. */
(function () {
  if (window.Brook && window.Brook.__brook) return;
  var s = document.currentScript || document.querySelector('script[data-bot-key]');
  if (!s) return;
  var host = new URL(s.src, location.href).origin;
  var a = function (n) { return s.getAttribute('data-' + n); };
  var opts = { botKey: a('bot-key') || '', position: a('position') || '', color: a('color') || '', title: a('title') || '', open: a('open') === 'true' };
  var queue = [], api = null, main = null, md = null;
  // The markdown renderer is a second module, loaded when the visitor first
  // opens the widget (the first load stays within 60 KB): see widget-md/.
  var loadMd = function () {
    if (md) return;
    md = import(host + '/widget/brook_widget_md.js').then(function (m) {
      return m.default({ module_or_path: host + '/widget/brook_widget_md_bg.wasm' }).then(function () {
        window.Brook.__md = { render: m.render, Stream: m.Stream };
        if (main) main.md_ready();
      });
    }).catch(function (e) { md = null; console.warn('Brook widget: markdown could not load:', e && e.message ? e.message : e); });
  };
  var call = function (n) { return function () { if (n !== 'close') loadMd(); api ? api[n]() : queue.push(n); }; };
  window.Brook = { __brook: 1, open: call('open'), close: call('close'), toggle: call('toggle') };
  var start = function () {
    var el = document.createElement('brook-widget');
    document.body.appendChild(el);
    var root = el.attachShadow({ mode: 'open' });
    el.addEventListener('click', loadMd);
    if (opts.open) loadMd();
    var css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = host + '/widget/widget.css';
    root.appendChild(css);
    import(host + '/widget/brook_widget.js').then(function (m) {
      return m.default({ module_or_path: host + '/widget/brook_widget_bg.wasm' }).then(function () {
        api = { open: m.open, close: m.close, toggle: m.toggle };
        main = m;
        if (window.Brook.__md) m.md_ready();
        m.start(root, host, opts);
        queue.forEach(function (n) { api[n](); });
      });
    }).catch(function (e) { console.warn('Brook widget could not load:', e && e.message ? e.message : e); });
  };
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
