// Nano-Run UI: optional enhancements; every page works without this file.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-refresh") || "", 10);
  if (seconds > 0) {
    // Reload a processing request's page until it is final, but never while someone is typing or selecting.
    var timer = setInterval(function () {
      var active = document.activeElement;
      var busy = active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT");
      var selecting = window.getSelection && String(window.getSelection()).length > 0;
      if (!document.hidden && !busy && !selecting) {
        clearInterval(timer);
        window.location.reload();
      }
    }, seconds * 1000);
  }

  // Follow a running attempt's output: append each chunk as it arrives, then reload to show the recorded attempt.
  var live = document.getElementById("live-output");
  if (live && window.fetch && window.TextDecoder) {
    fetch(live.getAttribute("data-stream"), { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || !response.body) return;
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var pump = function () {
        return reader.read().then(function (part) {
          if (part.done) {
            live.appendChild(document.createTextNode(decoder.decode()));
            window.location.reload();
            return;
          }
          live.appendChild(document.createTextNode(decoder.decode(part.value, { stream: true })));
          return pump();
        });
      };
      return pump();
    });
  }
})();
