/* The order widget: tells the Dashboard its height (the Dashboard's
   "saleor:widget:resize" message) and keeps a form from being sent twice.
   The widget works without it. */
(function () {
  "use strict";
  var root = document.getElementById("widget");
  if (!root) { return; }
  var last = 0;
  function report() {
    if (window.parent === window) { return; }
    var height = Math.ceil(Math.max(root.getBoundingClientRect().height, root.scrollHeight)) + 8;
    if (height !== last && height > 0) {
      last = height;
      // Only a height: nothing of the page leaves it.
      window.parent.postMessage({ type: "saleor:widget:resize", height: height }, "*");
    }
  }
  if (window.ResizeObserver) { new window.ResizeObserver(report).observe(root); }
  document.addEventListener("toggle", report, true);
  window.addEventListener("load", report);
  report();
  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    });
  });
})();
