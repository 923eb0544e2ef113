// WebAuthn ceremonies: enrol a key, sign in with a passkey, use a key as second factor.
//
// Markup drives it, no inline script: a form with data-webauthn="register" (create a credential)
// or a button with data-webauthn="authenticate" (sign in, second factor, confirmation), and
//   data-options-url  where to POST for the options (the challenge),
//   data-verify-url   where to POST the authenticator's response,
//   data-status       id of the aria-live element that shows progress and errors,
//   data-next         (optional) where to go after signing in.
// The server answers {"redirect": url} on success, {"message": "..."} (French) on error.
(function () {
  "use strict";
  if (window.bouquetWebAuthn) {
    return; // included twice on one page: one set of listeners is enough
  }
  window.bouquetWebAuthn = true;

  var MESSAGES = {
    unsupported: "Votre navigateur ne permet pas d'utiliser une clé de sécurité ou une clé d'accès. " +
      "Utilisez un navigateur récent ou un autre moyen de connexion.",
    waiting: "Suivez les instructions de votre navigateur ou de votre clé…",
    NotAllowedError: "L'opération a été annulée ou le délai est dépassé. Réessayez quand vous êtes prêt.",
    InvalidStateError: "Cette clé est déjà enregistrée sur votre compte.",
    SecurityError: "Votre navigateur a refusé l'opération pour des raisons de sécurité.",
    NotSupportedError: "Votre clé ne prend pas en charge ce qui est demandé (vérification par code ou empreinte).",
    AbortError: "L'opération a été interrompue. Réessayez.",
    network: "Le service ne répond pas. Vérifiez votre connexion et réessayez.",
    generic: "L'opération n'a pas abouti. Réessayez."
  };

  function toBuffer(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBuffers(descriptors) {
    return (descriptors || []).map(function (descriptor) {
      return Object.assign({}, descriptor, {id: toBuffer(descriptor.id)});
    });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      user: Object.assign({}, json.user, {id: toBuffer(json.user.id)}),
      excludeCredentials: withBuffers(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      allowCredentials: withBuffers(json.allowCredentials)
    });
  }

  function registrationJSON(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: typeof response.getTransports === "function" ? response.getTransports() : []
      }
    };
  }

  function assertionJSON(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        authenticatorData: toBase64url(response.authenticatorData),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined
      }
    };
  }

  // An error the server explained: its message is for the user, its redirect (if any) is next.
  function ServerError(message, redirect) {
    this.message = message;
    this.redirect = redirect;
  }

  function postJSON(url, body) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": meta ? meta.content : ""
      },
      body: JSON.stringify(body || {})
    }).catch(function () {
      throw new ServerError(MESSAGES.network);
    }).then(function (response) {
      return response.json().catch(function () {
        return {};
      }).then(function (data) {
        if (!response.ok) {
          throw new ServerError(data.message || MESSAGES.generic, data.redirect);
        }
        return data;
      });
    });
  }

  function show(region, message, level) {
    if (!region) {
      return;
    }
    region.textContent = "";
    if (!message) {
      return;
    }
    var box = document.createElement("div");
    box.className = "fr-alert fr-alert--sm fr-alert--" + level;
    var text = document.createElement("p");
    text.textContent = message;
    box.appendChild(text);
    region.appendChild(box);
  }

  function messageFor(error) {
    if (error instanceof ServerError) {
      return error.message;
    }
    return MESSAGES[error && error.name] || MESSAGES.generic;
  }

  function ceremony(kind, element, name) {
    var data = element.dataset;
    return postJSON(data.optionsUrl).then(function (options) {
      if (kind === "register") {
        return navigator.credentials.create({publicKey: creationOptions(options)}).then(function (credential) {
          return postJSON(data.verifyUrl, {credential: registrationJSON(credential), name: name});
        });
      }
      return navigator.credentials.get({publicKey: requestOptions(options)}).then(function (credential) {
        return postJSON(data.verifyUrl, {credential: assertionJSON(credential), next: data.next});
      });
    });
  }

  function start(kind, element, trigger) {
    var region = document.getElementById(element.dataset.status);
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(region, MESSAGES.unsupported, "error");
      return;
    }
    if (trigger.disabled) {
      return;
    }
    var input = kind === "register" ? element.querySelector('input[name="name"]') : null;
    trigger.disabled = true;
    show(region, MESSAGES.waiting, "info");
    ceremony(kind, element, input ? input.value : "").then(function (result) {
      show(region, "", "info");
      window.location.assign(result.redirect || "/");
    }).catch(function (error) {
      trigger.disabled = false;
      show(region, messageFor(error), "error");
      if (error instanceof ServerError && error.redirect) {
        window.location.assign(error.redirect);
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest('form[data-webauthn="register"]');
    if (form) {
      event.preventDefault();
      start("register", form, form.querySelector('[type="submit"]') || form);
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest('button[data-webauthn="authenticate"]');
    if (button) {
      event.preventDefault();
      start("authenticate", button, button);
    }
  });
})();
