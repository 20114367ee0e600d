// The driver's page: sign in with a driver key, check a code, ask for a resend.
// No framework, no build step. It calls the same GraphQL mutations as a courier's
// app; it never asks for a code, an e-mail address or an order's contents.
(function () {
  "use strict";

  var STORE = "delivery-otp-driver-key";
  var root = document.getElementById("driver-page");
  var api = root.getAttribute("data-api");
  var T = JSON.parse(document.getElementById("strings").textContent);

  var DRIVER = "query { deliveryDriver { name shopPhone } }";
  var VERIFY =
    "mutation($tracking: String, $code: String!) {" +
    " deliveryCodeVerify(trackingNumber: $tracking, code: $code) {" +
    " accepted attemptsLeft errors { code } } }";
  var RESEND =
    "mutation($tracking: String) {" +
    " deliveryCodeResendToCustomer(trackingNumber: $tracking) {" +
    " requested errors { code } } }";

  var $ = function (id) { return document.getElementById(id); };
  var answer = $("answer");
  var shopPhone = null;
  var scanning = null;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, name) {
      return values[name] === undefined ? "" : String(values[name]);
    });
  }

  function storedKey() {
    try { return window.localStorage.getItem(STORE) || ""; } catch (e) { return ""; }
  }

  function storeKey(key) {
    try {
      if (key) { window.localStorage.setItem(STORE, key); }
      else { window.localStorage.removeItem(STORE); }
    } catch (e) { /* private mode: the key lives as long as the page */ }
  }

  var sessionKey = storedKey();

  function call(query, variables) {
    return fetch(api, {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json",
        "Authorization": "Bearer " + sessionKey
      },
      body: JSON.stringify({ query: query, variables: variables || {} })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!body || !body.data) { throw new Error("no data"); }
        return body.data;
      });
    });
  }

  // One answer at a time, in the live region: a screen reader reads it out.
  function say(kind, title, detail, phone, tracking) {
    answer.className = "answer " + kind;
    answer.textContent = "";
    var heading = document.createElement("p");
    heading.className = "verdict";
    heading.textContent = title;
    answer.appendChild(heading);
    if (tracking) {
      var parcel = document.createElement("p");
      parcel.className = "parcel";
      parcel.textContent = fill(T.parcel, { tracking: tracking });
      answer.appendChild(parcel);
    }
    if (detail) {
      var more = document.createElement("p");
      more.textContent = detail;
      answer.appendChild(more);
    }
    if (phone) {
      var link = document.createElement("a");
      link.className = "call";
      link.href = "tel:" + phone.replace(/[^0-9+]/g, "");
      link.textContent = fill(T.call, { phone: phone });
      answer.appendChild(link);
    }
    // On a small screen the answer may be below the fold: bring it up.
    if (answer.scrollIntoView) { answer.scrollIntoView({ block: "nearest" }); }
  }

  function clearAnswer() {
    answer.className = "answer";
    answer.textContent = "";
  }

  function showSignIn(message) {
    stopScan();
    $("check").hidden = true;
    $("signin").hidden = false;
    if (message) { say("refused", message); } else { clearAnswer(); }
    $("driver-key").focus();
  }

  function showCheck(driver) {
    shopPhone = driver.shopPhone || null;
    $("who").textContent = fill(T.signed_in_as, { name: driver.name });
    $("signin").hidden = true;
    $("check").hidden = false;
    $("scan").hidden = !canScan();
    $("tracking").focus();
  }

  function signOut(message) {
    sessionKey = "";
    storeKey("");
    $("check-form").reset();
    showSignIn(message);
  }

  function signIn(key) {
    sessionKey = key;
    return call(DRIVER).then(function (data) {
      if (!data.deliveryDriver) { signOut(T.key_refused); return; }
      storeKey(key);
      clearAnswer();
      showCheck(data.deliveryDriver);
    });
  }

  // fetch() rejects with a TypeError when the network is down; anything else is
  // an answer the page could not use.
  function failed(error) {
    say("error", error instanceof TypeError ? T.error_network : T.error_generic);
  }

  // An error entry of a mutation: a refused key ends the session.
  function refusedBy(errors) {
    if (!errors || !errors.length) { return false; }
    var code = errors[0].code;
    if (code === "PERMISSION_DENIED") { signOut(T.key_refused); }
    else if (code === "INVALID" || code === "REQUIRED") { say("error", T.error_input); }
    else if (code === "RATE_LIMITED") { say("error", T.error_busy); }
    else { say("error", T.error_generic); }
    return true;
  }

  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
      b.disabled = on;
    });
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  $("signin-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = $("driver-key");
    var key = field.value.trim();
    field.value = "";
    if (!key) { field.focus(); return; }
    busy(event.target, true);
    say("working", T.working);
    signIn(key).catch(failed).then(function () { busy(event.target, false); });
  });

  $("sign-out").addEventListener("click", function () { signOut(""); });

  $("check-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var tracking = $("tracking").value.trim();
    var codeField = $("code");
    var code = codeField.value.replace(/\s+/g, "");
    if (!tracking || !/^[0-9]{4,10}$/.test(code)) {
      say("error", T.error_input);
      (tracking ? codeField : $("tracking")).focus();
      return;
    }
    // The code is not kept on the page once it has been sent.
    codeField.value = "";
    busy(form, true);
    say("working", T.working);
    call(VERIFY, { tracking: tracking, code: code }).then(function (data) {
      var result = data.deliveryCodeVerify;
      if (refusedBy(result.errors)) { return; }
      if (result.accepted) {
        say("handed-over", T.handed_over, T.handed_over_detail, null, tracking);
        $("tracking").value = "";
      } else if (result.attemptsLeft > 0) {
        say(
          "wrong",
          T.wrong,
          (result.attemptsLeft === 1
            ? T.attempts_left_one
            : fill(T.attempts_left_many, { n: result.attemptsLeft })) +
            " " + T.wrong_detail,
          null,
          tracking
        );
      } else {
        say(
          "locked",
          T.locked,
          shopPhone ? T.locked_detail_phone : T.locked_detail,
          shopPhone,
          tracking
        );
      }
    }).catch(failed).then(function () {
      busy(form, false);
      codeField.focus();
    });
  });

  $("resend").addEventListener("click", function () {
    var form = $("check-form");
    var tracking = $("tracking").value.trim();
    if (!tracking) { say("error", T.error_input); $("tracking").focus(); return; }
    busy(form, true);
    call(RESEND, { tracking: tracking }).then(function (data) {
      var result = data.deliveryCodeResendToCustomer;
      if (refusedBy(result.errors)) { return; }
      say("info", T.resend_done, null, null, tracking);
    }).catch(failed).then(function () { busy(form, false); });
  });

  // --- the camera: where the browser can read barcodes; typing always works ---

  function canScan() {
    return "BarcodeDetector" in window &&
      !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  function stopScan() {
    if (scanning) {
      window.clearInterval(scanning.timer);
      scanning.stream.getTracks().forEach(function (track) { track.stop(); });
      scanning = null;
    }
    $("scanner").hidden = true;
  }

  $("scan").addEventListener("click", function () {
    var video = $("camera");
    var detector;
    try { detector = new window.BarcodeDetector(); } catch (e) {
      say("error", T.scan_failed);
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
      .then(function (stream) {
        $("scanner").hidden = false;
        video.srcObject = stream;
        video.play();
        scanning = {
          stream: stream,
          timer: window.setInterval(function () {
            detector.detect(video).then(function (found) {
              if (found.length && found[0].rawValue) {
                $("tracking").value = found[0].rawValue.trim().slice(0, 255);
                stopScan();
                $("code").focus();
              }
            }).catch(function () { /* the next frame may do */ });
          }, 250)
        };
      })
      .catch(function () {
        stopScan();
        say("error", T.scan_failed);
        $("tracking").focus();
      });
  });

  $("scan-stop").addEventListener("click", function () {
    stopScan();
    $("tracking").focus();
  });

  if (sessionKey) {
    signIn(sessionKey).catch(function (error) {
      // Offline at start: keep the key, show the form; the next call retries.
      failed(error);
    });
  } else {
    showSignIn("");
  }
})();
