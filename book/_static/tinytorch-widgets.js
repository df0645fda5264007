// Loaded between RequireJS and @jupyter-widgets/html-manager's embed-amd.js (see nb_ipywidgets_js in
// _config.yml). The widget bundle finds its Font Awesome files relative to the URL of the AMD module that
// uses them; point every module it defines at the vendored bundle's folder, so those files load from
// _static/vendor/html-manager/ on this site instead of from a path that does not exist (or a CDN).
(function () {
  var folder = new URL("vendor/html-manager/", document.currentScript.src).href;
  var modules = ["@jupyter-widgets/base", "@jupyter-widgets/base7", "@jupyter-widgets/controls",
                 "@jupyter-widgets/controls7", "@jupyter-widgets/html-manager",
                 "@jupyter-widgets/html-manager/dist/libembed-amd"];
  var paths = {};
  modules.forEach(function (name) { paths[name] = folder + name.split("/").pop(); });
  require.config({ paths: paths });
})();

// The widget bundle typesets widget labels with the MathJax 2 API (`MathJax.Hub.Queue`); this site loads
// MathJax 3, which has no `Hub`. Give it a small `Hub.Queue` that typesets with MathJax 3 instead. MathJax 3
// is a deferred script that replaces the global `MathJax` object when it loads, so add it once that happened.
(function () {
  function addHub() {
    var mathjax = window.MathJax;
    if (!mathjax || !mathjax.version || mathjax.Hub) return;
    mathjax.Hub = {
      Queue: function (command) {
        var element = command && command[2];
        if (!element || !mathjax.typesetPromise) return;
        (mathjax.startup && mathjax.startup.promise || Promise.resolve()).then(function () {
          return mathjax.typesetPromise([element]);
        });
      }
    };
  }
  addHub();
  document.addEventListener("DOMContentLoaded", addHub);
})();
