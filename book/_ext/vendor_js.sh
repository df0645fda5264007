#!/bin/sh
# Copy the browser files the site needs from node_modules/ into book/_static/vendor/ (committed).
# Run from the repository root after `npm ci` (see package.json); node_modules/ itself is never committed.
set -eu
out=book/_static/vendor
nm=node_modules
rm -rf "$out"
mkdir -p "$out/requirejs" "$out/html-manager" "$out/mathjax/output/chtml/fonts" "$out/mathjax/input/tex"

# RequireJS: the AMD loader that the widget embedding bundle expects.
cp "$nm/requirejs/require.js" "$out/requirejs/"
# @jupyter-widgets/html-manager: renders saved ipywidgets state without a kernel. Its CSS refers to the
# Font Awesome files beside it, so they come along.
cp "$nm/@jupyter-widgets/html-manager/dist/embed-amd.js" "$out/html-manager/"
for font in "$nm"/@jupyter-widgets/html-manager/dist/*.woff2 "$nm"/@jupyter-widgets/html-manager/dist/*.woff \
            "$nm"/@jupyter-widgets/html-manager/dist/*.ttf "$nm"/@jupyter-widgets/html-manager/dist/*.eot \
            "$nm"/@jupyter-widgets/html-manager/dist/*.svg; do
    cp "$font" "$out/html-manager/"
done
cp "$nm/@jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt" "$out/html-manager/LICENSE.txt"
# MathJax 3: the combined TeX component, its fonts, and the TeX extensions it loads on demand.
cp "$nm/mathjax/es5/tex-mml-chtml.js" "$out/mathjax/"
cp -r "$nm/mathjax/es5/output/chtml/fonts/woff-v2" "$out/mathjax/output/chtml/fonts/"
cp -r "$nm/mathjax/es5/input/tex/extensions" "$out/mathjax/input/tex/"
cp -r "$nm/mathjax/es5/a11y" "$nm/mathjax/es5/ui" "$out/mathjax/"
cp "$nm/mathjax/LICENSE" "$out/mathjax/LICENSE"

for pkg in requirejs @jupyter-widgets/html-manager mathjax; do
    node -e "const p=require('./$nm/$pkg/package.json'); console.log(p.name + ' ' + p.version + ' (' + p.license + ')')"
done > "$out/VERSIONS.txt"
echo "vendored into $out:"; cat "$out/VERSIONS.txt"
