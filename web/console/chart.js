// Charts drawn as SVG by hand: a few dozen lines do what the console needs
// (grouped bars, a line), with no library to vendor, license or update,
// and nothing to fetch on a closed network. Every mark is an SVG element
// with a class, so tests can count what was drawn.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Round numbers for an axis from 0 to at least max. */
function ticks(max, count = 4) {
  if (max <= 0) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw);
  const out = [];
  for (let v = 0; v <= max + step * 0.999; v += step) out.push(v);
  return out;
}

const SIZE = { width: 1040, height: 280, left: 60, right: 12, top: 16, bottom: 44 };

function frame(title, yTicks, fmt) {
  const { width, height, left, right, top, bottom } = SIZE;
  const plotH = height - top - bottom;
  const yMax = yTicks[yTicks.length - 1];
  const y = (v) => top + plotH - (plotH * v) / yMax;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  for (const v of yTicks) {
    svg.append(s('line', { class: 'grid', x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    svg.append(s('text', { class: 'tick', x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
  }
  svg.append(s('path', { class: 'axis', d: `M${left},${top} V${top + plotH} H${width - right}` }));
  return { svg, y, plotW: width - left - right, plotH };
}

function xLabels(svg, labels, xOf) {
  const every = Math.max(1, Math.ceil(labels.length / 12));
  labels.forEach((l, i) => {
    if (i % every) return;
    svg.append(s('text', { class: 'tick', x: xOf(i), y: SIZE.height - SIZE.bottom + 16, 'text-anchor': 'middle' }, l));
  });
}

function legend(svg, series) {
  let x = SIZE.left;
  for (const se of series) {
    svg.append(s('rect', { class: 'key', x, y: SIZE.height - 14, width: 10, height: 10, fill: se.color }));
    svg.append(s('text', { class: 'tick', x: x + 14, y: SIZE.height - 5 }, se.name));
    x += 24 + se.name.length * 7;
  }
}

/**
 * Grouped bars: labels along x, one bar per series in each group.
 * series: [{name, color, values: number[]}]
 */
export function barChart({ title, labels, series, fmt = String }) {
  const max = Math.max(0, ...series.flatMap((se) => se.values));
  const { svg, y, plotW } = frame(title, ticks(max), fmt);
  const group = plotW / Math.max(labels.length, 1);
  const bw = Math.max(1, (group * 0.8) / series.length);
  const x0 = (i) => SIZE.left + group * i + group * 0.1;
  series.forEach((se, k) => se.values.forEach((v, i) => {
    if (!v) return; // an empty day draws no bar
    const r = s('rect', { class: 'bar', x: x0(i) + k * bw, y: y(v), width: bw, height: y(0) - y(v), fill: se.color });
    r.append(s('title', {}, `${labels[i]} · ${se.name}: ${fmt(v)}`));
    svg.append(r);
  }));
  xLabels(svg, labels, (i) => x0(i) + (bw * series.length) / 2);
  legend(svg, series);
  return svg;
}

/** Lines: one path per series over labels, with the area under the first. */
export function lineChart({ title, labels, series, fmt = String }) {
  const max = Math.max(0, ...series.flatMap((se) => se.values));
  const { svg, y, plotW } = frame(title, ticks(max), fmt);
  const step = plotW / Math.max(labels.length - 1, 1);
  const x = (i) => SIZE.left + step * i;
  series.forEach((se, k) => {
    const d = se.values.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    if (k === 0 && se.values.length) {
      svg.append(s('path', { class: 'area', d: `${d} L${x(se.values.length - 1)},${y(0)} L${x(0)},${y(0)} Z`, fill: se.color }));
    }
    svg.append(s('path', { class: 'line', d, stroke: se.color, fill: 'none' }));
  });
  xLabels(svg, labels, x);
  legend(svg, series);
  return svg;
}
