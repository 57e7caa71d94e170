// pixel.js loader (source; scripts/build-tracker.sh minifies it into tracker/dist/pixel.js and
// replaces __WASM__ with the content-hashed wasm file name).
//
// It only forwards browser facts to the wasm (see tracker/src/wasm.rs for the exports) and sends
// the request bodies the wasm builds. ES5 on purpose: a browser too old for it has no
// WebAssembly either, and must not even see a syntax error. Everything runs inside try/catch:
// nothing here can throw into the page, and if the wasm cannot load (CSP, old browser, network)
// the page works exactly as before.
//
// Embed:
//   <script defer src="https://collector.example/pixel.js" data-key="mtr_..."></script>
// Attributes: data-api (base URL of the collector or edge; default: where pixel.js came from),
// data-hash, data-outbound, data-downloads, data-respect-dnt, data-allow-local.
// Calls before load, with this stub anywhere before:
//   <script>window.pixel=window.pixel||function(){(pixel.q=pixel.q||[]).push(arguments)}</script>
// Site users opt out with `window.pixelOptOut = true` (checked before every request).
(function (w, d, n) {
  try {
    var s = d.currentScript;
    var has = function (a) {
      return s.hasAttribute('data-' + a);
    };
    var key = s.getAttribute('data-key');
    var api = (s.getAttribute('data-api') || new URL(s.src).origin).replace(/\/+$/, '') + '/api/event';
    // Calls made before the wasm is ready wait in pixel.q, as with the page's own stub.
    var queue = function () {
      (w.pixel.q = w.pixel.q || []).push(arguments);
    };
    w.pixel = w.pixel || queue;
    var x, heap;
    // Writes a string at offset o (UTF-16 units) of the wasm's input buffer; returns its end.
    var put = function (str, o) {
      str = String(str).slice(0, 2200);
      heap = new Uint16Array(x.memory.buffer, x.i(), 4400);
      for (var i = 0; i < str.length; i++) heap[o + i] = str.charCodeAt(i);
      return o + str.length;
    };
    var bytes = function (p, len) {
      return new Uint8Array(x.memory.buffer, p, len);
    };
    var send = function (p, len) {
      if (w.pixelOptOut) return;
      var body = new Blob([bytes(p, len)], { type: 'text/plain' });
      // sendBeacon survives the page being closed; text/plain needs no CORS preflight.
      (n.sendBeacon && n.sendBeacon(api, body)) ||
        fetch(api, { method: 'POST', body: body, keepalive: true, credentials: 'omit' })['catch'](function () {});
    };
    // A listener that can never throw into the page.
    var safe = function (f) {
      return function (a, b) {
        try {
          f(a, b);
        } catch (e) {}
      };
    };
    var on = function (target, type, f, capture) {
      target.addEventListener(type, safe(f), { capture: !!capture, passive: true });
    };
    var hidden = function () {
      return d.visibilityState == 'hidden';
    };
    var scrolled = function () {
      x.s(w.scrollY + w.innerHeight, d.documentElement.scrollHeight);
    };
    var view = function (restored) {
      var a;
      x.v((a = put(location.href, 0)), put(d.referrer, a), screen.width, hidden() | restored);
      scrolled();
    };
    var navigate = function () {
      scrolled();
      x.n(put(location.href, 0));
    };
    var exit = function (isHidden) {
      scrolled();
      x.h(isHidden);
    };
    var start = function () {
      var a,
        flags =
          has('hash') |
          (has('allow-local') << 1) |
          (!!n.webdriver << 2) |
          (has('respect-dnt') << 3) |
          ((n.doNotTrack == '1' || w.doNotTrack == '1' || n.globalPrivacyControl === true) << 4) |
          (has('outbound') << 5) |
          (has('downloads') << 6);
      if (!x.c((a = put(key, 0)), put(location.href, a), flags)) {
        w.pixel = function () {};
        return;
      }
      view(0);
      on(w, 'pageshow', function (e) {
        e.persisted && view(2);
      });
      on(w, 'pagehide', function () {
        exit(1);
      });
      on(d, 'visibilitychange', function () {
        exit(hidden());
      });
      on(w, 'popstate', navigate);
      on(w, 'hashchange', navigate);
      on(w, 'scroll', scrolled);
      ['pushState', 'replaceState'].forEach(function (k) {
        var original = history[k];
        history[k] = function () {
          var r = original.apply(this, arguments);
          safe(navigate)();
          return r;
        };
      });
      var click = function (e) {
        var a, link = e.target.closest && e.target.closest('a[href]');
        link && x.l((a = put(link.href, 0)), put(location.href, a));
      };
      on(d, 'click', click, 1);
      on(d, 'auxclick', click, 1);
      var q = w.pixel.q || [];
      w.pixel = safe(function (name, props) {
        var a, k, v;
        if (x.e(put(name, 0))) {
          for (k in props) {
            v = props[k];
            ({ string: 1, number: 1, boolean: 1 })[typeof v] && x.p((a = put(k, 0)), put(v, a));
          }
          x.f();
        }
      });
      for (a = 0; a < q.length; a++) w.pixel(q[a][0], q[a][1]);
    };
    if (key && w.WebAssembly) {
      fetch(new URL('__WASM__', s.src))
        .then(function (r) {
          return r.arrayBuffer();
        })
        .then(function (b) {
          return WebAssembly.instantiate(b, {
            e: {
              t: Date.now,
              m: function () {
                return performance.now();
              },
              r: function (p, len) {
                crypto.getRandomValues(bytes(p, len));
              },
              s: send
            }
          });
        })
        .then(function (r) {
          x = r.instance.exports;
          start();
        })
        ['catch'](function () {});
    }
  } catch (e) {}
})(window, document, navigator);
