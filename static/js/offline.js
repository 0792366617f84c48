/* The grid worker's offline queue (govgrid/offline.py says what the server does).

   A form inside an element marked data-offline (the report form, the visit form, the on-site
   verification on the phone's case page) is not sent by the browser: this script gives it a fresh
   client_uuid, keeps a copy in IndexedDB (its fields and its photos as Blobs) and then tries to send
   that copy. Sent (2xx): the copy is dropped and the page goes where the server says. No network:
   the copy stays, the form says "saved on the phone, will be sent when online", and the badge at the
   top of every worker page says "waiting to send (n)". The queue is sent, oldest first, when any
   worker page loads, when the browser says it is online again, and every half minute while something
   waits. An item leaves the queue only after a 2xx; the server answers a resend of the same
   client_uuid with the first result, so an item whose answer was lost on the way is still acted on
   once. A refusal (4xx with the server's reasons) is kept and shown as failed with the reason until
   the worker removes it; a login page or a CSRF refusal keeps it as "log in to send". The CSRF token
   is read when sending, so an item made before a new login is sent with the new one.

   The service worker (/m/sw.js) only keeps copies of the pages and static files for opening them
   offline; it does not send the queue (a page does), so what is sent and when is always seen here. */
(function () {
  "use strict";
  var root = document.getElementById("offline-queue");
  if (!root || !window.indexedDB || !window.fetch || !window.FormData || !window.Promise) { return; }
  var cfg = root.dataset;
  var DB = "govgrid-offline", STORE = "outbox", RETRY_MS = 30000;
  var countEl = root.querySelector(".oq-count");
  var listEl = root.querySelector(".oq-list");
  var toggle = root.querySelector(".oq-toggle");
  var sendNow = root.querySelector(".oq-send");

  /* --- IndexedDB: one store of items, keyed by client_uuid --- */
  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        var store = request.result.createObjectStore(STORE, { keyPath: "uuid" });
        store.createIndex("user", "user");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function mine() {
    return run("readonly", function (store) { return store.index("user").getAll(cfg.user); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.created - b.created; });
    });
  }
  function put(item) { return run("readwrite", function (store) { return store.put(item); }); }
  function drop(uuid) { return run("readwrite", function (store) { return store["delete"](uuid); }); }

  /* --- an item: the form as it was when the worker tapped send --- */
  function newUuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function snapshot(form, holder, uuid) {
    var fields = [], files = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value !== "string") {
        if (value.size || value.name) { files.push({ name: name, blob: value, filename: value.name || "photo.jpg" }); }
      } else if (name !== "csrfmiddlewaretoken") {
        fields.push([name, value]);
      }
    });
    return {
      uuid: uuid, user: cfg.user, kind: holder.dataset.offline, label: holder.dataset.offlineLabel || "",
      url: form.getAttribute("action") || window.location.pathname, fields: fields, files: files,
      created: Date.now(), state: "waiting", message: ""
    };
  }

  function csrfToken() {
    var found = document.cookie.split(";").map(function (c) { return c.trim(); }).filter(function (c) {
      return c.indexOf((cfg.csrfCookie || "csrftoken") + "=") === 0;
    })[0];
    if (found) { return decodeURIComponent(found.split("=").slice(1).join("=")); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function reasons(body, status) {
    var errors = body && body.errors;
    var texts = [];
    if (errors) { Object.keys(errors).forEach(function (k) { texts = texts.concat(errors[k]); }); }
    if (!texts.length && body && body.detail) { texts.push(body.detail); }
    return texts.join(" ") || (cfg.msgRefused || "").replace("%(status)s", status);
  }

  /* Send one item. The answer: sent (with the page to go to), waiting (no network, a 5xx: try later),
     login (log in first, then it goes) or failed (the server refused it, with its reasons). */
  function send(item) {
    var body = new FormData();
    item.fields.forEach(function (f) { body.append(f[0], f[1]); });
    item.files.forEach(function (f) { body.append(f.name, f.blob, f.filename); });
    var token = csrfToken();
    body.append("csrfmiddlewaretoken", token);
    return fetch(item.url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest", "X-CSRFToken": token }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.redirected && /\/login\//.test(response.url)) { return { state: "login" }; }
      if (response.status === 403 && type.indexOf("json") === -1) { return { state: "login" }; }  // CSRF
      if (response.status >= 500 || response.status === 408 || response.status === 429) { return { state: "waiting" }; }
      return response.json().then(null, function () { return null; }).then(function (answer) {
        if (response.ok && answer && answer.ok) { return { state: "sent", url: answer.url }; }
        if (response.status >= 400) {
          return { state: "failed", message: reasons(answer, response.status), errors: answer && answer.errors };
        }
        return { state: "waiting" };  // a 2xx that is not ours (a portal's page): later
      });
    }, function () { return { state: "waiting", offline: true }; });
  }

  /* --- the queue: oldest first, one tab at a time, stop at the first sign of no network --- */
  var flushing = null;

  function flushAll() {
    return mine().then(function (items) {
      var todo = items.filter(function (item) { return item.state === "waiting" || item.state === "login"; });
      var step = function (index) {
        if (index >= todo.length) { return null; }
        var item = todo[index];
        return send(item).then(function (result) {
          if (result.state === "sent") { return drop(item.uuid).then(function () { return step(index + 1); }); }
          item.state = result.state;
          item.message = result.message || "";
          return put(item).then(function () {
            if (result.state === "waiting" || result.state === "login") { return null; }  // later, all of them
            return step(index + 1);
          });
        });
      };
      return step(0);
    });
  }

  function flush() {
    if (flushing) { return flushing; }
    var work = navigator.locks && navigator.locks.request
      ? navigator.locks.request("govgrid-offline-queue", { ifAvailable: true }, function (lock) {
        return lock ? flushAll() : null;
      })
      : flushAll();
    flushing = Promise.resolve(work).then(null, function () { return null; }).then(function () {
      flushing = null;
      return render();
    });
    return flushing;
  }

  /* --- the badge: "waiting to send (n)", and the list behind it --- */
  function render() {
    return mine().then(function (items) {
      var open = items.filter(function (item) { return item.state !== "failed"; });
      var failed = items.filter(function (item) { return item.state === "failed"; });
      var login = items.some(function (item) { return item.state === "login"; });
      root.hidden = !items.length;
      root.classList.toggle("oq-login", login);
      root.classList.toggle("oq-failed", failed.length > 0);
      root.dataset.count = String(open.length);
      var text = cfg.msgWaiting.replace("%(n)s", open.length);
      if (failed.length) { text += " · " + cfg.msgFailedCount.replace("%(n)s", failed.length); }
      countEl.textContent = text;
      listEl.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "oq-item oq-" + item.state;
        li.dataset.uuid = item.uuid;
        var what = document.createElement("span");
        what.className = "oq-what";
        what.textContent = item.label + (item.files.length ? " · " + cfg.msgPhotos.replace("%(n)s", item.files.length) : "");
        li.appendChild(what);
        var state = document.createElement("span");
        state.className = "oq-state";
        state.textContent = item.state === "failed" ? cfg.msgFailed + " " + item.message
          : item.state === "login" ? cfg.msgLogin : cfg.msgWaitingOne;
        li.appendChild(state);
        if (item.state === "failed") {
          var remove = document.createElement("button");
          remove.type = "button";
          remove.className = "small-button oq-remove";
          remove.textContent = cfg.msgRemove;
          remove.addEventListener("click", function () { drop(item.uuid).then(render); });
          li.appendChild(remove);
        }
        listEl.appendChild(li);
      });
      var loginLink = root.querySelector(".oq-loginlink");
      if (loginLink) { loginLink.hidden = !login; }
      return items;
    }, function () { return []; });
  }

  if (toggle) {
    toggle.addEventListener("click", function () {
      var expanded = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", expanded ? "false" : "true");
      listEl.hidden = expanded;
    });
  }
  if (sendNow) { sendNow.addEventListener("click", function () { flush(); }); }

  /* --- the forms --- */
  function notice(form, text, kind) {
    var box = form.querySelector(".oq-notice");
    if (!box) {
      box = document.createElement("div");
      box.className = "oq-notice";
      box.setAttribute("role", "status");
      form.insertBefore(box, form.firstChild);
    }
    box.className = "oq-notice msg" + (kind ? " msg-" + kind : "");
    box.textContent = text;
    box.hidden = !text;
    if (text) { box.scrollIntoView({ block: "center" }); }
  }

  function busy(form, on) {
    form.classList.toggle("is-sending", on);
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit], button:not([type])"), function (b) {
      b.disabled = on;
    });
    if (form.govgridQueue && form.govgridQueue.busy) { form.govgridQueue.busy(on); }
  }

  function kept(form, holder, text) {
    var hooks = form.govgridQueue || {};
    if (holder.dataset.offlineDone === "hide") {  // a verification is made once: the form goes
      form.hidden = true;
      notice(holder, text, "success");
      return;
    }
    if (hooks.reset) { hooks.reset(); } else { form.reset(); }
    notice(form, text, "success");
  }

  function submit(form, holder) {
    if (form.classList.contains("is-sending")) { return; }  // a double tap sends once
    var uuid = newUuid();
    var input = form.querySelector("input[name$=client_uuid]");
    if (input) { input.value = uuid; }
    var item = snapshot(form, holder, uuid);
    busy(form, true);
    notice(form, "");
    put(item).then(function () {
      render();
      if (navigator.storage && navigator.storage.persist) { navigator.storage.persist(); }
      return navigator.onLine === false ? { state: "waiting", offline: true } : send(item);
    }).then(function (result) {
      if (result.state === "sent") {
        return drop(item.uuid).then(function () { window.location.assign(result.url); });
      }
      busy(form, false);
      if (result.state === "failed") {
        // The worker is here to fix it: nothing is kept, the reasons go beside the fields.
        return drop(item.uuid).then(function () {
          render();
          if (form.govgridQueue && form.govgridQueue.errors && result.errors) { form.govgridQueue.errors(result.errors); }
          else { notice(form, result.message, "error"); }
        });
      }
      item.state = result.state;
      return put(item).then(function () {
        kept(form, holder, result.state === "login" ? cfg.msgSavedLogin : cfg.msgSaved);
        render();
      });
    }, function () {
      // IndexedDB refused (private mode, no space): say so; nothing was sent.
      busy(form, false);
      notice(form, cfg.msgNoStore, "error");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var holder = form && form.closest ? form.closest("[data-offline]") : null;
    if (!holder) { return; }
    // Before htmx's and report.js's own listeners: this script sends the form.
    event.preventDefault();
    event.stopImmediatePropagation();
    event.stopPropagation();
    submit(form, holder);
  }, true);

  /* Another script's item (static/js/patrol.js: a batch of track positions): a POST of `fields` to `url`,
     kept and sent like a form, in the order made. */
  function add(url, fields, kind, label) {
    var uuid = newUuid();
    var item = { uuid: uuid, user: cfg.user, kind: kind, label: label || "", url: url,
                 fields: fields.concat([["client_uuid", uuid]]), files: [], created: Date.now(), state: "waiting",
                 message: "" };
    return put(item).then(render).then(function () { return item; });
  }

  window.GovGridQueue = { flush: flush, render: render, items: mine, add: add };

  /* --- when to send: now, back online, every half minute while something waits --- */
  window.addEventListener("online", function () { flush(); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { flush(); } });
  setInterval(function () {
    if (navigator.onLine !== false && root.dataset.count && root.dataset.count !== "0") { flush(); }
  }, RETRY_MS);
  render().then(function () { if (navigator.onLine !== false) { flush(); } });

  if (navigator.serviceWorker && cfg.sw) {
    navigator.serviceWorker.register(cfg.sw, { scope: cfg.swScope }).then(null, function () { return null; });
  }
})();
