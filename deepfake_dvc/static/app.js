// The page of deepfake-check serve: the model card's warning first, then one card per dropped
// video: its upload and analysis progress, its verdict, its pictures and its JSON.
"use strict";

const POLL_MS = 700;
const PICTURES = {
  "verdict.jpg": "The frame with the most people: each tracked person's box and P(fake)",
  "timeline.png": "Each person's P(fake) at every sampled frame, with the threshold",
  "gradcam.png": "Grad-CAM of the most suspicious face: where its score came from, not proof",
};
let scope = null;  // what the model is worth: the card's mark and warning, its threshold

function token() { return sessionStorage.getItem("deepfake-check-token") || ""; }
function headers() { return token() ? { Authorization: "Bearer " + token() } : {}; }
function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
  if (text) node.textContent = text;
  return node;
}
async function detail(response) {
  try { return (await response.json()).detail; } catch (e) { return response.statusText; }
}

async function loadModel() {
  const response = await fetch("/api/model", { headers: headers() });
  if (response.status === 401) {
    document.getElementById("token-box").hidden = false;
    document.getElementById("model-line").textContent = "This server needs its token.";
    return;
  }
  if (!response.ok) {
    document.getElementById("model-line").textContent = "The model's card could not be read: "
      + await detail(response);
    return;
  }
  document.getElementById("token-box").hidden = true;
  const model = await response.json();
  scope = model.scope;
  if (scope.warning) {
    document.getElementById("warning").hidden = false;
    document.getElementById("warning-mark").textContent = markText(scope);
    document.getElementById("warning-text").textContent = scope.warning;
  }
  document.getElementById("model-line").textContent = modelLine(model);
  const l = model.limits;
  document.getElementById("limits").textContent = `${l.video_types.join(" ")}; up to `
    + `${l.max_mb} MB and ${l.max_seconds} s each. Results are kept ${l.keep_minutes} minutes.`;
}

function markText(scope) {  // as the pictures' banners say it
  if (!scope.mark) return "WARNING FROM THE MODEL CARD";
  return scope.mark === "not evidence" ? "NOT EVIDENCE"
                                       : `${scope.mark.toUpperCase()} - NOT EVIDENCE`;
}

function modelLine(model) {
  const s = model.scope;
  const trained = s.trained_on ? `Trained on ${s.trained_on}.` : "No model card: what it was "
    + "trained on is unknown and its probabilities are not calibrated.";
  return `${trained} FAKE at calibrated P(fake) >= ${s.threshold} (${s.threshold_rule}).`;
}

function addFiles(files) {
  for (const file of files) analyse(file);
}

function jobCard(name) {
  const card = el("li", { class: "job" });
  card.append(el("h2", {}, name));
  const bar = el("progress", { max: "1", value: "0" });
  const step = el("span", { class: "step" }, "uploading");
  const progress = el("div", { class: "progress" });
  progress.append(bar, step);
  card.append(progress);
  document.getElementById("results").prepend(card);
  return { card, bar, step };
}

function analyse(file) {
  const view = jobCard(file.name);
  const form = new FormData();
  form.append("video", file, file.name);
  const send = () => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/check");
    Object.entries(headers()).forEach(([k, v]) => xhr.setRequestHeader(k, v));
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) {
        view.bar.value = 0.2 * e.loaded / e.total;
        view.step.textContent = `uploading ${Math.round(100 * e.loaded / e.total)} %`;
      }
    };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 429) {
        const wait = parseInt(xhr.getResponseHeader("Retry-After") || "10", 10);
        view.step.textContent = `the server is busy: trying again in ${wait} s`;
        setTimeout(send, wait * 1000);
      } else if (xhr.status === 202) {
        poll(body.url, view);
      } else {
        if (xhr.status === 401) loadModel();
        fail(view, body.detail || `the server answered ${xhr.status}`);
      }
    };
    xhr.onerror = () => fail(view, "the server could not be reached");
    xhr.send(form);
  };
  send();
}

async function poll(url, view) {
  const response = await fetch(url, { headers: headers() });
  if (!response.ok) return fail(view, await detail(response));
  const job = await response.json();
  const p = job.progress;
  view.bar.value = 0.2 + 0.8 * p.done / p.steps;
  view.step.textContent = job.state === "queued"
    ? `waiting: ${job.ahead} video(s) ahead` : `${p.step} (${p.done}/${p.steps})`;
  if (job.state === "queued" || job.state === "running") {
    setTimeout(() => poll(url, view), POLL_MS);
  } else {
    view.card.querySelector(".progress").remove();
    showResult(view.card, job);
  }
}

function fail(view, message) {
  view.card.querySelector(".progress")?.remove();
  view.card.append(el("p", { class: "error" }, "Not analysed: " + message));
}

function showResult(card, job) {
  const r = job.result;
  const s = (r && r.model) || scope;
  if (s && s.warning) {  // first, and in full: a verdict of this model is not evidence
    const warning = el("div", { class: "warning" });
    warning.append(el("strong", {}, markText(s)), el("p", {}, s.warning));
    card.append(warning);
  }
  if (!r || r.verdict === "ERROR") {
    card.append(el("p", { class: "error" }, "Not analysed: " + (job.error || "unknown error")));
    return;
  }
  const verdict = el("div", { class: "verdict" });
  verdict.append(el("span", { class: "label " + r.verdict }, r.verdict));
  verdict.append(el("span", { class: "prob" }, r.p_fake === null ? "P(fake): none"
    : `P(fake) = ${r.p_fake.toFixed(3)}`));
  verdict.append(el("span", { class: "small" }, `calibrated; threshold ${s.threshold}; `
    + `${r.faces_found} face(s) in ${r.frames_sampled} sampled frames; `
    + `${r.tracks.length} person(s) tracked`));
  card.append(verdict);
  if (r.reason) card.append(el("p", {}, "Why: " + r.reason));
  if (job.error) card.append(el("p", { class: "error" }, job.error));
  const pictures = el("div", { class: "pictures" });
  for (const url of r.pictures || []) {
    const figure = el("figure");
    const full = el("a", { target: "_blank", title: "full size" });
    const img = el("img", { alt: PICTURES[url.split("/").pop()] || "picture" });
    full.append(img);
    figure.append(full, el("figcaption", {}, img.alt));
    pictures.append(figure);
    fetch(url, { headers: headers() }).then((res) => res.blob())  // the token, if any
      .then((blob) => { img.src = full.href = URL.createObjectURL(blob); });
  }
  card.append(pictures);
  const json = new Blob([JSON.stringify(r, null, 2)], { type: "application/json" });
  card.append(el("a", { class: "json", href: URL.createObjectURL(json),
                        download: `${r.video}.verdict.json` }, "Download the JSON"));
}

function setUp() {
  const drop = document.getElementById("drop");
  const input = document.getElementById("files");
  input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    addFiles(e.dataTransfer.files);
  });
  document.getElementById("token-save").addEventListener("click", () => {
    sessionStorage.setItem("deepfake-check-token", document.getElementById("token").value);
    loadModel();
  });
  loadModel();
}

document.addEventListener("DOMContentLoaded", setUp);
