// The optimizer explorer of module 09's book page: redraws the precomputed
// trajectory that matches the sliders (tito/book_explorer.py writes the page).
(function () {
  var root = (document.currentScript && document.currentScript.closest("#optimizer-explorer"))
             || document.getElementById("optimizer-explorer");
  var data = JSON.parse(root.querySelector("script[data-role='runs']").textContent);
  var path = root.querySelector("[data-role='path']");
  var end = root.querySelector("[data-role='end']");
  var readout = root.querySelector("[data-role='readout']");
  var redraws = 0;
  function control(name) { return root.querySelector("[data-param='" + name + "']"); }
  function decode(text) {
    var bytes = atob(text), values = [];
    for (var i = 0; i < bytes.length; i += 2) {
      var v = bytes.charCodeAt(i) | (bytes.charCodeAt(i + 1) << 8);
      values.push((v >= 32768 ? v - 65536 : v) / 10);
    }
    return values;
  }
  function redraw() {
    var landscapeName = control("landscape").value, optimizerName = control("optimizer").value;
    var landscape = data.landscapes[landscapeName], grid = landscape.grids[optimizerName];
    root.querySelectorAll("[data-contours]").forEach(function (group) {
      group.style.display = group.getAttribute("data-contours") === landscapeName ? "" : "none";
    });
    root.querySelectorAll("[data-row]").forEach(function (row) {
      row.style.opacity = grid.params.indexOf(row.getAttribute("data-row")) >= 0 ? "1" : "0.35";
    });
    function valueOf(name, owner) {
      var values = owner.values[name];
      return values[Math.min(parseInt(control(name).value, 10), values.length - 1)];
    }
    ["lr", "momentum", "beta1", "beta2"].forEach(function (name) {   // every slider shows its value
      var owner = grid.values[name] ? grid : landscape.grids[name === "momentum" ? "sgd" : "adam"];
      root.querySelector("[data-value-of='" + name + "']").textContent = valueOf(name, owner);
    });
    var flat = 0, state = [optimizerName], words = [];
    grid.params.forEach(function (name) {
      var values = grid.values[name];
      flat = flat * values.length + values.indexOf(valueOf(name, grid));
      state.push(name + "=" + valueOf(name, grid));
      words.push(name + " " + valueOf(name, grid));
    });
    var run = landscape.runs[optimizerName][flat], xy = decode(run[0]), points = [];
    for (var k = 0; k < xy.length; k += 2) { points.push(xy[k] + "," + xy[k + 1]); }
    path.setAttribute("points", points.join(" "));
    end.setAttribute("cx", xy[xy.length - 2]);
    end.setAttribute("cy", xy[xy.length - 1]);
    root.querySelector("[data-role='start']").setAttribute("cx", landscape.start[0]);
    root.querySelector("[data-role='start']").setAttribute("cy", landscape.start[1]);
    root.querySelector("[data-role='minimum']").setAttribute("cx", landscape.minimum[0]);
    root.querySelector("[data-role='minimum']").setAttribute("cy", landscape.minimum[1]);
    var label = (optimizerName === "sgd" ? "SGD" : "Adam") + " (" + words.join(", ") + ")";
    if (run[2] >= 0) {
      readout.textContent = label + ": diverged, it left the plot at step " + run[2] + ".";
    } else {
      readout.textContent = label + ": f = " + run[1] + " after " + landscape.steps + " steps.";
    }
    root.querySelector("[data-role='caption']").textContent = landscape.caption;
    redraws += 1;
    root.setAttribute("data-state", state.join(" "));
    root.setAttribute("data-landscape", landscapeName);
    root.setAttribute("data-redraws", String(redraws));
  }
  root.querySelectorAll("[data-param]").forEach(function (element) {
    element.addEventListener("input", redraw);
    element.addEventListener("change", redraw);
  });
  redraw();
})();
