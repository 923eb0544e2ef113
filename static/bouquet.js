// Bouquet's own script: send the session's CSRF token with every htmx request.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});

// Patient page: every panel loads on its own (hx-trigger="load", hx-request timeout). One that is
// too slow, answers with an error or cannot be reached shows a degraded state with a retry button,
// announced politely, and never holds up or breaks the rest of the page.
(function () {
  // Only the panel's own request: a form inside a panel handles its own errors.
  function panelOf(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.hasAttribute && elt.hasAttribute("data-bq-panel") ? elt : null;
  }

  function fill(panel, templateId) {
    var template = document.getElementById(templateId);
    if (template) {
      panel.replaceChildren(template.content.cloneNode(true));
    }
  }

  function degrade(panel) {
    fill(panel, "bq-panel-degraded");
    panel.removeAttribute("aria-busy");
    panel.classList.add("bq-panel--degraded");
    var retry = panel.querySelector("[data-bq-retry]");
    if (retry && panel.dataset.bqTitle) {
      retry.setAttribute("aria-describedby", panel.dataset.bqTitle);
    }
    var status = document.getElementById("bq-panel-status");
    if (status) {
      status.textContent = (status.dataset.degraded || "") + " " + panel.dataset.bqPanel + ".";
    }
  }

  ["htmx:timeout", "htmx:responseError", "htmx:sendError"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var panel = panelOf(event);
      if (panel) {
        degrade(panel);
      }
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = panelOf(event);
    if (panel) {
      panel.removeAttribute("aria-busy");
      panel.classList.remove("bq-panel--degraded");
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-bq-retry]") : null;
    var panel = button && button.closest("[data-bq-panel]");
    if (!panel) {
      return;
    }
    fill(panel, "bq-panel-reloading");
    panel.setAttribute("aria-busy", "true");
    panel.classList.remove("bq-panel--degraded");
    htmx.trigger(panel, "bq-retry");
  });
})();
