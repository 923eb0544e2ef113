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

// A form refused because its page was left open too long (CSRF token of an ended session) loses
// nothing: what was typed is kept in this tab (sessionStorage, never passwords or files) when a form
// is sent, kept only while the refusal page is shown, and put back in the same form of the page the
// person goes back to; any other page forgets it.
(function () {
  var KEY = "bq-form-draft";
  var SKIPPED = { password: true, file: true, hidden: true, submit: true, button: true };

  function formKey(form) {
    return location.pathname + " " + (form.getAttribute("action") || location.pathname);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || (form.getAttribute("method") || "get").toLowerCase() !== "post") {
      return;
    }
    try {
      var waiting = JSON.parse(sessionStorage.getItem(KEY) || "null");
      if (waiting && waiting.restore && waiting.form !== formKey(form)) {
        return;  // signing in again on the way back to a kept form: keep that one
      }
    } catch (ignored) { /* replaced below */ }
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || SKIPPED[element.type]) {
        return;
      }
      if (element.type === "checkbox" || element.type === "radio") {
        if (element.checked) {
          (fields[element.name] = fields[element.name] || []).push(element.value);
        }
      } else {
        fields[element.name] = [element.value];
      }
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ form: formKey(form), fields: fields }));
    } catch (ignored) { /* storage full or disabled: the refusal page still explains */ }
  }, true);

  function restore() {
    var saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    } catch (ignored) {
      saved = null;
    }
    if (document.querySelector("[data-bq-stale-form]")) {
      return;  // the refusal page: keep the draft for the page the person goes back to
    }
    sessionStorage.removeItem(KEY);
    if (!saved || !saved.restore) {
      return;
    }
    var found = false;
    Array.prototype.forEach.call(document.forms, function (form) {
      if (formKey(form) !== saved.form) {
        return;
      }
      Object.keys(saved.fields).forEach(function (name) {
        var values = saved.fields[name];
        Array.prototype.forEach.call(form.elements, function (element) {
          if (element.name !== name || SKIPPED[element.type]) {
            return;
          }
          if (element.type === "checkbox" || element.type === "radio") {
            element.checked = values.indexOf(element.value) !== -1;
          } else {
            element.value = values[0];
          }
        });
      });
      form.setAttribute("data-bq-restored", "");
      found = true;
    });
    // Signed out meanwhile: the draft waits through the few pages of signing in again.
    if (!found && (saved.pagesLeft = (saved.pagesLeft || 6) - 1) > 0) {
      sessionStorage.setItem(KEY, JSON.stringify(saved));
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-bq-stale-form]") : null;
    if (!link) {
      return;
    }
    try {
      var saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
      if (saved) {
        saved.restore = true;
        sessionStorage.setItem(KEY, JSON.stringify(saved));
      }
    } catch (ignored) { /* nothing to put back */ }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", restore);
  } else {
    restore();
  }
})();

// Recovery codes: print the page, or copy the codes (each on its line) to the clipboard.
document.addEventListener("click", function (event) {
  var target = event.target.closest ? event.target : null;
  if (!target) {
    return;
  }
  if (target.closest("[data-bq-print]")) {
    window.print();
    return;
  }
  var copy = target.closest("[data-bq-copy]");
  if (!copy || !navigator.clipboard) {
    return;
  }
  var source = document.getElementById(copy.getAttribute("data-bq-copy"));
  var lines = Array.prototype.map.call(source ? source.querySelectorAll("li") : [], function (item) {
    return item.textContent.trim();
  });
  navigator.clipboard.writeText(lines.join("\n") + "\n").then(function () {
    var status = document.getElementById("bq-copy-status");
    if (status) {
      status.textContent = copy.getAttribute("data-bq-copied") || "";
      status.classList.remove("fr-sr-only");
    }
  });
});
