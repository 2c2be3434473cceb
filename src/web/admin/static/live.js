// Fetches a running campaign's figures again every 1.5 s and swaps them in; stops
// when the campaign no longer sends or the session has ended. Without this file the
// page still shows the figures, and a link reloads them.
(function () {
  'use strict';
  var EVERY = 1500;
  function poll() {
    var el = document.getElementById('figures');
    if (!el || !el.dataset.live) { return; }
    fetch(el.dataset.live, { credentials: 'same-origin', redirect: 'manual' })
      .then(function (r) {
        if (!r.ok) { throw new Error('status ' + r.status); }
        return r.text();
      })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, 'text/html').getElementById('figures');
        if (next) { el.replaceWith(document.adoptNode(next)); }
        setTimeout(poll, EVERY);
      })
      .catch(function () { /* signed out or offline: the refresh link remains */ });
  }
  document.addEventListener('DOMContentLoaded', function () { setTimeout(poll, EVERY); });
})();
