// Job photos and repair recordings that survive a bad connection (templates/dispatch/technician/_media.html).
// Every capture is first written to IndexedDB with a client-made UUID, its kind and its SHA-256, then uploaded;
// the server keeps one row per UUID, so a retry after a lost answer stores nothing twice. Uploads are retried with
// backoff, on page load and when the phone comes back online. Items of every job (of the user logged in) are sent
// from any page that shows the partial; its list shows the current job's.
(function () {
  "use strict";

  var DB_NAME = "lock-dispatch-uploads";
  var STORE = "uploads";
  var BACKOFF_MIN_MS = 2000;
  var BACKOFF_MAX_MS = 5 * 60 * 1000;
  var KEEP_SAVED_MS = 24 * 3600 * 1000; // saved entries (without their bytes) are listed for a day
  var PERMANENT = [400, 403, 404, 413]; // the server refused the file itself: sending it again cannot help

  var root = null;
  var store = null;
  var timer = null;
  var pumping = false;
  var thumbnails = {};

  // ---- storage: IndexedDB, or memory when the browser has none (the page warns) ----------------------------------

  function request(r) {
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function idbStore(db) {
    function objects(mode) { return db.transaction(STORE, mode).objectStore(STORE); }
    return {
      put: function (item) { return request(objects("readwrite").put(item)); },
      get: function (id) { return request(objects("readonly").get(id)); },
      remove: function (id) { return request(objects("readwrite").delete(id)); },
      all: function () { return request(objects("readonly").getAll()); },
    };
  }

  function memoryStore() {
    var items = {};
    return {
      put: function (item) { items[item.id] = item; return Promise.resolve(); },
      get: function (id) { return Promise.resolve(items[id]); },
      remove: function (id) { delete items[id]; return Promise.resolve(); },
      all: function () { return Promise.resolve(Object.keys(items).map(function (k) { return items[k]; })); },
    };
  }

  function openStore() {
    if (!window.indexedDB) return Promise.reject(new Error("no IndexedDB"));
    var open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = function () {
      open.result.createObjectStore(STORE, { keyPath: "id" }).createIndex("ticket", "ticket");
    };
    return request(open).then(idbStore);
  }

  // ---- helpers ----------------------------------------------------------------------------------------------------

  function text(name) { return (root && root.dataset["text" + name]) || ""; }

  function warn(message) {
    if (!root) return;
    var el = root.querySelector("[data-upload-warning]");
    el.textContent = message;
    el.hidden = !message;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function sha256(blob) {
    // crypto.subtle exists only on HTTPS (and localhost); without it the server's own hash is the record.
    if (!(window.crypto && crypto.subtle)) return Promise.resolve("");
    return blob.arrayBuffer().then(function (buffer) {
      return crypto.subtle.digest("SHA-256", buffer);
    }).then(function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (x) {
        return (x + 0x100).toString(16).slice(1);
      }).join("");
    });
  }

  function csrfToken() {
    // The cookie is the freshest (it changes when the user logs in again); the page's token is the fallback.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : (root ? root.dataset.csrf : "");
  }

  function backoff(attempts) {
    var ms = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, Math.max(0, attempts - 1)));
    return ms / 2 + Math.random() * ms / 2; // jitter: a van full of phones coming online do not all retry together
  }

  function clock(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  // ---- the queue --------------------------------------------------------------------------------------------------

  function add(kind, blob, name, capturedAt, durationSeconds) {
    return sha256(blob).then(function (digest) {
      var item = {
        id: uuid(),
        ticket: root.dataset.ticket,
        user: root.dataset.user,
        url: root.dataset.uploadUrl,
        kind: kind,
        blob: blob,
        name: name,
        size: blob.size,
        sha256: digest,
        capturedAt: capturedAt.toISOString(),
        duration: durationSeconds || null,
        state: "queued",
        reason: "",
        attempts: 0,
        nextAt: 0,
        createdAt: Date.now(),
      };
      return store.put(item).catch(function (error) {
        // Phone storage full or refused: keep it in memory for this page rather than lose it.
        warn(text("NoStorage") + " (" + error.name + ")");
        store = memoryStoreWith(store, item);
      });
    }).then(function () {
      render();
      pump();
    });
  }

  function memoryStoreWith(previous, item) {
    var memory = memoryStore();
    memory.put(item);
    return {
      put: function (i) { return previous.put(i).catch(function () { return memory.put(i); }); },
      get: function (id) { return memory.get(id).then(function (i) { return i || previous.get(id); }); },
      remove: function (id) { memory.remove(id); return previous.remove(id).catch(function () {}); },
      all: function () {
        return Promise.all([previous.all(), memory.all()]).then(function (lists) {
          var seen = {};
          lists[1].forEach(function (i) { seen[i.id] = true; });
          return lists[1].concat(lists[0].filter(function (i) { return !seen[i.id]; }));
        });
      },
    };
  }

  function send(item) {
    item.state = "uploading";
    item.reason = "";
    return store.put(item).then(render).then(function () {
      var form = new FormData();
      form.append("client_id", item.id);
      form.append("kind", item.kind);
      form.append("sha256", item.sha256);
      form.append("captured_at", item.capturedAt);
      if (item.duration) form.append("duration_seconds", String(item.duration));
      form.append("file", item.blob, item.name);
      return fetch(item.url, {
        method: "POST",
        body: form,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      });
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if ((response.status === 200 || response.status === 201) && body && body.id) {
          if (item.sha256 && body.sha256 !== item.sha256) return fail(item, text("Server"), false);
          item.state = "saved";
          item.blob = null; // the server has the bytes (and proved it with the hash): free the phone's storage
          item.serverId = body.id;
          item.savedAt = Date.now();
          return store.put(item);
        }
        // Only a refusal the server explained is final; a login page or a proxy error is worth another try.
        var final = PERMANENT.indexOf(response.status) >= 0 && body && body.message;
        var reason = body && body.message ? body.message : response.status === 401 ? text("Login") : text("Server");
        return fail(item, reason, !!final);
      });
    }, function () {
      return fail(item, navigator.onLine === false ? text("Offline") : text("Server"), false);
    }).then(render);
  }

  function fail(item, reason, final) {
    item.reason = reason;
    if (final) {
      item.state = "failed";
    } else {
      item.state = "queued";
      item.attempts += 1;
      item.nextAt = Date.now() + backoff(item.attempts);
    }
    return store.put(item);
  }

  function pump() {
    if (pumping || !store || !root) return;
    pumping = true;
    clearTimeout(timer);
    store.all().then(function (items) {
      var now = Date.now();
      var due = items.filter(function (i) {
        // "uploading" left over from a page closed mid-upload counts as queued. A phone shared by two technicians
        // sends each one's files only while they are logged in (the server would refuse them to anyone else).
        return (i.state === "queued" || i.state === "uploading") && i.blob && (i.nextAt || 0) <= now &&
          i.user === root.dataset.user;
      });
      due.sort(function (a, b) { return a.createdAt - b.createdAt; });
      return due.reduce(function (chain, item) {
        return chain.then(function () { return send(item); });
      }, Promise.resolve());
    }).catch(function (error) {
      warn(String(error));
    }).then(function () {
      pumping = false;
      schedule();
    });
  }

  function schedule() {
    clearTimeout(timer);
    if (!store || !root) return;
    store.all().then(function (items) {
      var next = null;
      items.forEach(function (i) {
        if (i.state === "queued" && i.blob && i.user === root.dataset.user && (next === null || i.nextAt < next)) {
          next = i.nextAt;
        }
      });
      if (next !== null) timer = setTimeout(pump, Math.max(0, next - Date.now()));
    });
  }

  function prune() {
    var cutoff = Date.now() - KEEP_SAVED_MS;
    return store.all().then(function (items) {
      return Promise.all(items.filter(function (i) {
        return i.state === "saved" && i.savedAt < cutoff;
      }).map(function (i) { return store.remove(i.id); }));
    });
  }

  // ---- the list ---------------------------------------------------------------------------------------------------

  function render() {
    if (!root) return Promise.resolve();
    return store.all().then(function (items) {
      var mine = items.filter(function (i) { return i.ticket === root.dataset.ticket; });
      mine.sort(function (a, b) { return a.createdAt - b.createdAt; });
      var list = root.querySelector("[data-upload-list]");
      list.replaceChildren.apply(list, mine.map(row));
      root.querySelector("[data-upload-empty]").hidden = mine.length > 0;
    });
  }

  var BADGE = { queued: "text-bg-secondary", uploading: "text-bg-info", saved: "text-bg-success", failed: "text-bg-danger" };
  var STATE_TEXT = { queued: "Queued", uploading: "Uploading", saved: "Saved", failed: "Failed" };

  // Drawn here, not emoji: phones and the headless test browser may lack an emoji font.
  var ICONS = {
    photo: '<svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" stroke-width="2" ' +
      'aria-hidden="true"><path d="M3 8h4l2-3h6l2 3h4v11H3z"/><circle cx="12" cy="13" r="4"/></svg>',
    recording: '<svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" stroke-width="2" ' +
      'aria-hidden="true"><rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/></svg>',
  };

  function row(item) {
    var li = document.createElement("li");
    li.className = "border rounded p-2 mb-2";
    li.dataset.testid = "upload-item";
    li.dataset.clientId = item.id;
    li.dataset.kind = item.kind;
    li.dataset.state = item.state;

    var line = document.createElement("div");
    line.className = "d-flex align-items-center gap-2";
    var icon = document.createElement("span");
    icon.className = "flex-shrink-0 d-inline-flex align-items-center justify-content-center bg-body-tertiary rounded";
    icon.style.width = icon.style.height = "56px";
    if (item.blob && item.kind !== "recording") {
      thumbnails[item.id] = thumbnails[item.id] || URL.createObjectURL(item.blob);
      var img = document.createElement("img");
      img.src = thumbnails[item.id];
      img.alt = "";
      img.style.cssText = "width:56px;height:56px;object-fit:cover;border-radius:.375rem";
      icon.appendChild(img);
    } else {
      if (thumbnails[item.id]) {
        URL.revokeObjectURL(thumbnails[item.id]);
        delete thumbnails[item.id];
      }
      icon.innerHTML = item.kind === "recording" ? ICONS.recording : ICONS.photo;
    }
    line.appendChild(icon);

    var body = document.createElement("div");
    body.className = "flex-grow-1";
    body.style.minWidth = "0";
    var title = document.createElement("div");
    var when = new Date(item.capturedAt);
    // data-label-photo_before is dataset.labelPhoto_before
    var label = root.dataset["label" + item.kind.charAt(0).toUpperCase() + item.kind.slice(1)] || item.kind;
    title.textContent = label + " · " + when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) +
      (item.duration ? " · " + clock(item.duration) : "");
    body.appendChild(title);
    var badge = document.createElement("span");
    badge.className = "badge fs-6 " + BADGE[item.state];
    badge.dataset.testid = "upload-state";
    badge.textContent = text(STATE_TEXT[item.state]);
    body.appendChild(badge);
    if (item.reason) {
      var reason = document.createElement("div");
      reason.className = "small " + (item.state === "failed" ? "text-danger" : "text-body-secondary");
      reason.dataset.testid = "upload-reason";
      reason.textContent = item.reason;
      body.appendChild(reason);
    }
    line.appendChild(body);
    li.appendChild(line);

    var actions = [];
    if (item.state === "failed" || (item.state === "queued" && item.attempts > 0)) {
      actions.push(button(text("Retry"), "btn-outline-primary", "upload-retry", function () {
        item.state = "queued";
        item.nextAt = 0;
        store.put(item).then(render).then(pump);
      }));
    }
    if (item.state === "failed") {
      actions.push(button(text("Remove"), "btn-outline-secondary", "upload-remove", function () {
        store.remove(item.id).then(render);
      }));
    }
    if (actions.length) {
      var bar = document.createElement("div");
      bar.className = "d-flex gap-2 mt-2";
      actions.forEach(function (b) { b.classList.add("flex-fill"); bar.appendChild(b); });
      li.appendChild(bar);
    }
    return li;
  }

  function button(label, style, testid, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-lg " + style;
    b.dataset.testid = testid;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  // ---- capture: camera inputs and the recorder --------------------------------------------------------------------

  function wirePhotos() {
    root.querySelectorAll("input[type=file][data-media-kind]").forEach(function (input) {
      input.addEventListener("change", function () {
        var files = Array.prototype.slice.call(input.files || []);
        input.value = ""; // the same photo may be picked again after removing it
        files.reduce(function (chain, file) {
          return chain.then(function () {
            return add(input.dataset.mediaKind, file, file.name || "photo.jpg", new Date(file.lastModified || Date.now()));
          });
        }, Promise.resolve());
      });
    });
  }

  var AUDIO_TYPES = [["audio/webm;codecs=opus", ".webm"], ["audio/webm", ".webm"], ["audio/ogg;codecs=opus", ".ogg"],
    ["audio/mp4", ".m4a"]];

  function wireRecorder() {
    var box = root.querySelector("[data-recorder]");
    if (!box) return;
    var open = box.querySelector("[data-recorder-open]");
    var consent = box.querySelector("[data-recorder-consent]");
    var running = box.querySelector("[data-recorder-running]");
    var elapsed = box.querySelector("[data-recorder-elapsed]");
    var error = box.querySelector("[data-recorder-error]");
    var recorder = null;
    var ticker = null;
    var wakeLock = null;
    var startedAt = 0;

    function show(panel) {
      open.hidden = panel !== "open";
      consent.hidden = panel !== "consent";
      running.hidden = panel !== "running";
    }
    function seconds() { return Math.max(0, Math.round((Date.now() - startedAt) / 1000)); }
    function leaving(event) { event.preventDefault(); event.returnValue = text("Leave"); return event.returnValue; }

    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder)) {
      open.disabled = true;
    }
    open.addEventListener("click", function () { error.hidden = true; show("consent"); });
    box.querySelector("[data-recorder-cancel]").addEventListener("click", function () { show("open"); });
    box.querySelector("[data-recorder-start]").addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        var chosen = AUDIO_TYPES.filter(function (t) { return MediaRecorder.isTypeSupported(t[0]); })[0];
        recorder = new MediaRecorder(stream, chosen ? { mimeType: chosen[0] } : undefined);
        var chunks = [];
        recorder.ondataavailable = function (event) { if (event.data && event.data.size) chunks.push(event.data); };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (track) { track.stop(); });
          var type = (recorder.mimeType || (chosen && chosen[0]) || "audio/webm").split(";")[0];
          var extension = (AUDIO_TYPES.filter(function (t) { return t[0].split(";")[0] === type; })[0] || [0, ".webm"])[1];
          add("recording", new Blob(chunks, { type: type }), "recording" + extension, new Date(startedAt), seconds());
        };
        startedAt = Date.now();
        recorder.start(1000); // a chunk a second: a long recording is not one huge buffer at the end
        elapsed.textContent = clock(0);
        ticker = setInterval(function () { elapsed.textContent = clock(seconds()); }, 250);
        window.addEventListener("beforeunload", leaving);
        if (navigator.wakeLock) { // a screen that locks may pause the recording on some phones
          navigator.wakeLock.request("screen").then(function (lock) { wakeLock = lock; }, function () {});
        }
        show("running");
      }).catch(function (e) {
        error.textContent = text("NoMicrophone") + " " + (e && e.message ? e.message : e);
        error.hidden = false;
        show("open");
      });
    });
    box.querySelector("[data-recorder-stop]").addEventListener("click", function () {
      clearInterval(ticker);
      window.removeEventListener("beforeunload", leaving);
      if (wakeLock) { wakeLock.release(); wakeLock = null; }
      elapsed.textContent = clock(seconds());
      if (recorder && recorder.state !== "inactive") recorder.stop();
      show("open");
    });
  }

  // ---- start ------------------------------------------------------------------------------------------------------

  function start() {
    root = document.querySelector("[data-upload-queue]");
    openStore().catch(function () {
      warn(text("NoStorage"));
      return memoryStore();
    }).then(function (opened) {
      store = opened;
      if (root) {
        wirePhotos();
        wireRecorder();
      }
      return prune();
    }).then(render).then(pump);
    window.addEventListener("online", function () {
      // Back online: try everything now, not when each backoff would have run out.
      if (!store) return;
      store.all().then(function (items) {
        return Promise.all(items.filter(function (i) { return i.state === "queued"; }).map(function (i) {
          i.nextAt = 0;
          return store.put(i);
        }));
      }).then(pump);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
