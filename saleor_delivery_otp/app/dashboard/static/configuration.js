/* The configuration page: takes the Dashboard's token from App Bridge's
   handshake, then reads and saves each channel's form through the App's JSON
   endpoint. Everything is built with DOM calls and textContent: nothing the
   server or Saleor sends is parsed as HTML. */
(function () {
  "use strict";
  var root = document.getElementById("configuration");
  var statusBox = document.getElementById("status");
  var list = document.getElementById("channels");
  if (!root || !statusBox || !list) { return; }
  var api = root.getAttribute("data-api");
  var params = new URLSearchParams(window.location.search);
  var saleorApiUrl = params.get("saleorApiUrl") || "";
  // App Bridge takes messages only from the page that framed it.
  var dashboardOrigin = "";
  try { dashboardOrigin = document.referrer ? new URL(document.referrer).origin : ""; } catch (e) { dashboardOrigin = ""; }
  var token = "";
  var loaded = false;
  var loading = false;

  function say(text, tone) {
    statusBox.textContent = text;
    statusBox.className = "notice " + (tone || "info");
    statusBox.hidden = !text;
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "className") { node.className = attributes[name]; }
      else { node.setAttribute(name, attributes[name]); }
    });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function call(method, body) {
    var init = {
      method: method,
      headers: { "Authorization": "Bearer " + token, "Saleor-Api-Url": saleorApiUrl, "Accept": "application/json" },
      credentials: "omit",
      cache: "no-store"
    };
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(api, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function fieldRow(channel, spec, values, secretsSet) {
    var id = "f-" + channel.slug + "-" + spec.name;
    var wrap = el("div", { className: "field" + (spec.multiline ? " wide" : ""), "data-field": spec.name });
    wrap.appendChild(el("label", { "for": id }, spec.label));
    var input;
    if (spec.multiline) {
      input = el("textarea", { id: id, name: spec.name, rows: "3" });
    } else {
      input = el("input", { id: id, name: spec.name, type: "text", autocomplete: "off" });
    }
    input.value = values[spec.name] || "";
    if (spec.secret && secretsSet.indexOf(spec.name) !== -1) {
      input.setAttribute("placeholder", "Set; leave empty to keep it");
    }
    var help = el("p", { className: "help", id: id + "-help" }, spec.help);
    var error = el("p", { className: "error", id: id + "-error", hidden: "" });
    input.setAttribute("aria-describedby", help.id + " " + error.id);
    wrap.appendChild(input);
    wrap.appendChild(help);
    wrap.appendChild(error);
    return wrap;
  }

  function showErrors(form, errors) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (wrap) {
      var name = wrap.getAttribute("data-field");
      var error = wrap.querySelector(".error");
      var input = wrap.querySelector("input, textarea");
      var message = errors && errors[name];
      error.textContent = message || "";
      error.hidden = !message;
      if (message) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
    });
  }

  function channelCard(fields, channel) {
    var card = el("section", { className: "card channel", id: "channel-" + channel.slug, "aria-labelledby": "title-" + channel.slug });
    var head = el("header", { className: "card-head" });
    head.appendChild(el("h2", { id: "title-" + channel.slug }, channel.name));
    head.appendChild(el("span", { className: "badge " + (channel.active ? "success" : "neutral"), "data-role": "state" }, channel.active ? "On" : "Off"));
    card.appendChild(head);
    card.appendChild(el("p", { className: "channel-meta" }, channel.slug + " \u00b7 " + channel.currency));
    var form = el("form", { novalidate: "" });
    var switchLabel = el("label", { className: "switch" });
    var active = el("input", { type: "checkbox", name: "active" });
    active.checked = !!channel.active;
    switchLabel.appendChild(active);
    switchLabel.appendChild(document.createTextNode("Delivery codes on in this channel"));
    form.appendChild(switchLabel);
    var grid = el("div", { className: "fields" });
    fields.forEach(function (spec) { grid.appendChild(fieldRow(channel, spec, channel.values, channel.secretsSet || [])); });
    var settings = el("details", { className: "settings", id: "settings-" + channel.slug });
    settings.appendChild(el("summary", {}, "Settings"));
    settings.appendChild(grid);
    form.appendChild(settings);
    var note = el("div", { className: "notice", role: "status", hidden: "" });
    form.appendChild(note);
    var button = el("button", { type: "submit", className: "primary" }, "Save " + channel.name);
    form.appendChild(button);
    if (channel.problems && Object.keys(channel.problems).length) {
      showErrors(form, channel.problems);
      settings.open = true;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var values = {};
      fields.forEach(function (spec) { values[spec.name] = form.elements[spec.name].value; });
      button.disabled = true;
      note.hidden = true;
      call("POST", { channel: channel.slug, active: active.checked, values: values }).then(function (answer) {
        button.disabled = false;
        if (answer.status === 200 && answer.data.saved) {
          showErrors(form, {});
          var fresh = answer.data.channel;
          var badge = head.querySelector("[data-role=state]");
          badge.textContent = fresh.active ? "On" : "Off";
          badge.className = "badge " + (fresh.active ? "success" : "neutral");
          fields.forEach(function (spec) { form.elements[spec.name].value = fresh.values[spec.name] || ""; });
          note.textContent = "Saved.";
          note.className = "notice success";
        } else {
          showErrors(form, answer.data.errors || {});
          var invalid = form.querySelector("[aria-invalid=true]");
          if (invalid) { settings.open = true; invalid.focus(); }
          note.textContent = answer.data.error || "Nothing was saved.";
          note.className = "notice critical";
          note.setAttribute("role", "alert");
        }
        note.hidden = false;
      }, function () {
        button.disabled = false;
        note.textContent = "The App could not be reached; nothing was saved.";
        note.className = "notice critical";
        note.hidden = false;
      });
    });
    card.appendChild(form);
    return card;
  }

  function load() {
    loading = true;
    say("Loading the shop's channels\u2026");
    call("GET").then(function (answer) {
      loading = false;
      if (answer.status !== 200) {
        say(answer.data.error || "The configuration could not be loaded.", "critical");
        return;
      }
      loaded = true;
      var shop = document.getElementById("shop");
      if (shop && answer.data.shop) { shop.textContent = "Shop: " + answer.data.shop; shop.hidden = false; }
      var apiUrl = document.getElementById("api-url");
      if (apiUrl && answer.data.api_url) {
        apiUrl.textContent = "Storefront and courier API: " + answer.data.api_url;
        apiUrl.hidden = false;
      }
      list.textContent = "";
      var channels = answer.data.channels || [];
      channels.forEach(function (channel) { list.appendChild(channelCard(answer.data.fields || [], channel)); });
      say(channels.length ? "" : "The shop has no channel yet.", "info");
    }, function () {
      loading = false;
      say("The App could not be reached. Reload the page.", "critical");
    });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || window.parent === window) { return; }
    if (dashboardOrigin && event.origin !== dashboardOrigin) { return; }
    var data = event.data;
    if (!data || typeof data !== "object" || !data.payload || typeof data.payload.token !== "string") { return; }
    if (data.type === "handshake" || data.type === "tokenRefresh") {
      token = data.payload.token;
      if (!loaded && !loading) { load(); }
    }
  });

  window.setTimeout(function () {
    if (!token) {
      say("Open this page from the Saleor Dashboard: Apps \u203a Delivery codes.", "critical");
    }
  }, 5000);
})();
