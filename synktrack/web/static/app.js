/* synktrack weekly check: the page side. Everything goes to the local server only. */
'use strict';

(function () {
  const TOKEN = document.documentElement.dataset.token;
  const $ = (id) => document.getElementById(id);
  const state = {
    config: null,
    stream: null,
    recorder: null,
    recStart: 0,
    seq: 0,
    sendChain: Promise.resolve(),
    sendFailed: false,
    framingTimer: null,
    framingBusy: false,
    goodCount: 0,
    badCount: 0,
    phase: 'welcome',
    stopping: null,
    heartbeatFails: 0,
    summary: null,
    timing: {},
  };
  window.synktrack = state; // read-only view for people debugging their own page

  const NAMES = {
    rest: 'Rest',
    smile: 'Gentle smile',
    eye_closure: 'Close your eyes gently',
    pucker: 'Soft pucker',
    brow_raise: 'Lift your eyebrows',
  };

  // ------------------------------------------------------------------ server calls

  function api(path, opts) {
    opts = opts || {};
    const headers = { 'X-Synktrack-Token': TOKEN };
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/octet-stream';
    }
    const method = opts.method || (body !== undefined ? 'POST' : 'GET');
    return fetch(path, { method, headers, body, cache: 'no-store' }).then((r) => {
      return r.json().catch(() => ({})).then((data) => {
        if (!r.ok) {
          const err = new Error(data.error || ('HTTP ' + r.status));
          err.status = r.status;
          throw err;
        }
        return data;
      });
    });
  }

  // ------------------------------------------------------------------ screens

  function show(name) {
    state.phase = name;
    document.querySelectorAll('.screen').forEach((s) => { s.hidden = s.id !== 'screen-' + name; });
    const heading = document.querySelector('#screen-' + name + ' h1');
    if (heading) heading.focus({ preventScroll: false });
  }

  function speak(text) {
    if (!$('opt-speak').checked || !('speechSynthesis' in window) || !text) return;
    window.speechSynthesis.cancel();
    const u = new SpeechSynthesisUtterance(text);
    u.rate = 0.9;
    window.speechSynthesis.speak(u);
  }

  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
  const recNow = () => (performance.now() - state.recStart) / 1000;

  // ------------------------------------------------------------------ heartbeat

  function heartbeat() {
    if (state.phase === 'bye' || state.phase === 'lost') return;
    api('/api/heartbeat', { json: {} }).then(() => { state.heartbeatFails = 0; })
      .catch(() => {
        state.heartbeatFails += 1;
        if (state.heartbeatFails >= 3) lostContact();
      });
  }

  function lostContact() {
    if (state.phase === 'bye' || state.phase === 'lost') return;
    stopCamera();
    show('lost');
  }

  window.addEventListener('pagehide', () => {
    navigator.sendBeacon('/api/bye?t=' + encodeURIComponent(TOKEN), new Blob(['{}']));
  });

  // ------------------------------------------------------------------ camera

  async function startCamera() {
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
        audio: false,
      });
    } catch (err) {
      const name = err && err.name;
      let msg;
      if (name === 'NotAllowedError' || name === 'SecurityError') {
        msg = 'The camera is blocked for this page. To do the check, allow the camera: click ' +
          'the camera symbol in the address bar, choose Allow, then press Try again.';
      } else if (name === 'NotFoundError' || name === 'OverconstrainedError') {
        msg = 'No camera was found. Plug in a camera, then press Try again.';
      } else if (name === 'NotReadableError') {
        msg = 'The camera is in use by another program. Close that program, then press ' +
          'Try again.';
      } else {
        msg = 'The camera could not be started (' + (name || 'unknown problem') + '). ' +
          'Check it is plugged in, then press Try again.';
      }
      $('camera-error-msg').textContent = msg;
      show('camera-error');
      return;
    }
    const track = state.stream.getVideoTracks()[0];
    track.addEventListener('ended', cameraLost);
    $('preview').srcObject = state.stream;
    $('preview-small').srcObject = state.stream;
    show('framing');
    startFraming();
  }

  function stopCamera() {
    stopFraming();
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  }

  function cameraLost() {
    if (state.phase === 'steps') {
      stopSession('camera_lost', 'The camera stopped sending pictures (was it unplugged?).');
    } else if (state.phase === 'framing') {
      stopFraming();
      $('camera-error-msg').textContent = 'The camera stopped sending pictures. Check that ' +
        'it is plugged in, then press Try again.';
      show('camera-error');
    }
  }

  // ------------------------------------------------------------------ framing

  function startFraming() {
    state.goodCount = 0;
    state.badCount = 0;
    const canvas = document.createElement('canvas');
    state.framingTimer = setInterval(() => framingTick(canvas), state.config.framing_interval_ms);
  }

  function stopFraming() {
    if (state.framingTimer) clearInterval(state.framingTimer);
    state.framingTimer = null;
  }

  function framingTick(canvas) {
    const video = $('preview');
    if (state.framingBusy || !video.videoWidth) return;
    state.framingBusy = true;
    const w = 320;
    const h = Math.round(w * video.videoHeight / video.videoWidth);
    canvas.width = w;
    canvas.height = h;
    canvas.getContext('2d').drawImage(video, 0, 0, w, h);
    canvas.toBlob((blob) => {
      if (!blob) { state.framingBusy = false; return; }
      api('/api/frame', { body: blob }).then(showFraming).catch(() => {})
        .finally(() => { state.framingBusy = false; });
    }, 'image/jpeg', 0.75);
  }

  function showFraming(res) {
    if (state.phase !== 'framing') return;
    if (res.ok) { state.goodCount += 1; state.badCount = 0; } else { state.badCount += 1; state.goodCount = 0; }
    const start = $('btn-start');
    if (state.goodCount >= 3) start.disabled = false;
    if (state.badCount >= 3) start.disabled = true;
    $('framing-msg').textContent = start.disabled ? res.message :
      'That looks good. Press Start when you are ready.';
    const list = $('framing-checks');
    list.textContent = '';
    (res.checks || []).forEach((c) => {
      const li = document.createElement('li');
      li.className = c.ok ? 'ok' : 'todo';
      li.textContent = (c.ok ? '✓ ' : '• ') + c.message;
      list.appendChild(li);
    });
  }

  // ------------------------------------------------------------------ recording

  function pickMime() {
    const kinds = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm', 'video/mp4'];
    for (const k of kinds) if (window.MediaRecorder && MediaRecorder.isTypeSupported(k)) return k;
    return '';
  }

  function startRecorder() {
    return new Promise((resolve, reject) => {
      const mime = pickMime();
      const rec = new MediaRecorder(state.stream, mime ? { mimeType: mime,
        videoBitsPerSecond: 2500000 } : undefined);
      state.recorder = rec;
      state.seq = 0;
      rec.ondataavailable = (e) => {
        if (!e.data || !e.data.size) return;
        const seq = state.seq++;
        state.sendChain = state.sendChain.then(() =>
          api('/api/session/chunk?seq=' + seq, { body: e.data })
        ).catch(() => { state.sendFailed = true; });
      };
      rec.onstart = () => { state.recStart = performance.now(); resolve(); };
      rec.onerror = (e) => reject(e.error || new Error('recorder error'));
      rec.start(state.config.chunk_ms);
    });
  }

  function stopRecorder() {
    const rec = state.recorder;
    if (!rec || rec.state === 'inactive') return state.sendChain;
    return new Promise((resolve) => {
      rec.addEventListener('stop', () => {
        // the last dataavailable fires before stop; wait for its upload
        setTimeout(() => state.sendChain.then(resolve), 0);
      });
      rec.stop();
    });
  }

  // ------------------------------------------------------------------ the protocol

  function setProgress(pos, total) {
    $('progress-text').textContent = 'Step ' + (pos + 1) + ' of ' + total;
    $('progress-bar').style.width = Math.round(100 * pos / total) + '%';
  }

  function runCountdown(seconds) {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const num = $('countdown-number');
      const bar = $('countdown-bar');
      const tick = () => {
        const left = Math.max(0, seconds - (performance.now() - t0) / 1000);
        num.textContent = String(Math.ceil(left));
        bar.style.width = (100 * left / seconds).toFixed(1) + '%';
        if (state.stopping) { clearInterval(timer); resolve(); return; }
        if (left <= 0) { clearInterval(timer); resolve(); }
      };
      const timer = setInterval(tick, 50);
      tick();
    });
  }

  async function getReady() {
    $('prompt-kind').textContent = 'Get ready';
    $('prompt-title').textContent = 'We start in a moment';
    $('prompt-text').textContent = 'Sit comfortably and look at the camera.';
    $('step-note').textContent = '';
    setProgress(0, state.config.protocol.steps.length);
    show('steps');
    speak('Get ready.');
    await runCountdown(state.config.ready_s);
  }

  async function settle(pending, queue, pos) {
    // Verdicts of movements that ended earlier; a repeat goes in at queue position pos.
    const steps = state.config.protocol.steps;
    while (pending.length) {
      const p = pending.shift();
      if (!p.settled) $('step-note').textContent = 'One moment…';
      const verdict = await p.promise;
      if (state.stopping) return;
      if (verdict && verdict.repeat) {
        const again = [{ index: p.item.index, attempt: p.item.attempt + 1, retry: verdict.message }];
        const next = steps[p.item.index + 1];
        if (next && next.movement === 'rest') {
          again.push({ index: p.item.index + 1, attempt: p.item.attempt + 1 });
        }
        queue.splice(pos, 0, ...again);
      }
    }
  }

  async function runProtocol() {
    const steps = state.config.protocol.steps;
    const queue = steps.map((s, i) => ({ index: i, attempt: 1 }));
    const pending = [];
    for (let pos = 0; ; pos++) {
      if (state.stopping) return;
      // Before a movement (and at the very end), settle earlier verdicts: never mid-rest.
      if (pos >= queue.length || steps[queue[pos].index].movement !== 'rest') {
        await settle(pending, queue, pos);
        if (state.stopping) return;
      }
      if (pos >= queue.length) break;
      const item = queue[pos];
      const step = steps[item.index];
      const note = $('step-note');
      note.textContent = item.retry ? 'Once more, gently.' : '';
      $('prompt-kind').textContent = step.movement === 'rest' ? 'Rest' : 'Movement';
      $('prompt-title').textContent = NAMES[step.movement] || step.movement;
      $('prompt-text').textContent = step.prompt;
      setProgress(pos, queue.length);
      speak(step.prompt);
      const start = recNow();
      api('/api/session/step', { json: { index: item.index, attempt: item.attempt, start_s: start } })
        .catch(() => {});
      await runCountdown(step.duration_s);
      if (state.stopping) return;
      const end = recNow();
      state.timing.lastStepEnd = performance.now();
      const verdict = api('/api/session/step_end', { json: { index: item.index,
        attempt: item.attempt, end_s: end } }).catch(() => ({ ok: true }));
      if (step.movement !== 'rest') {
        const p = { item, promise: verdict, settled: false };
        verdict.then((v) => {
          p.settled = true;
          if (v && v.repeat && !state.stopping) {
            note.textContent = v.message + ' (after this rest)';
          }
        });
        pending.push(p);
      }
    }
    setProgress(queue.length, queue.length);
  }

  async function runSession() {
    stopFraming();
    state.stopping = null;
    state.sendFailed = false;
    await getReady();
    if (state.stopping) return;
    try {
      await api('/api/session/start', { json: { keep_video: $('opt-keep').checked } });
      await startRecorder();
    } catch (err) {
      stopSession('camera_lost', 'The recording could not start (' + err.message + ').');
      return;
    }
    await runProtocol();
    if (state.stopping) return;
    state.timing.protocolEnd = performance.now();
    show('analysing');
    speak('Well done. That is all.');
    await stopRecorder();
    try {
      const summary = await api('/api/session/finish', { json: { complete: true,
        keep_video: $('opt-keep').checked } });
      showResults(summary);
      state.timing.resultsShown = performance.now();
    } catch (err) {
      if (err.status === undefined) lostContact();
      else stopped('Something went wrong while putting the results together (' + err.message +
        '). What was recorded has been kept.');
    }
  }

  async function stopSession(code, message) {
    if (state.stopping) return;
    state.stopping = code;
    if (window.speechSynthesis) window.speechSynthesis.cancel();
    show('analysing');
    try { await stopRecorder(); } catch (e) { /* keep going */ }
    stopCamera();
    try {
      const summary = await api('/api/session/finish', { json: { complete: false, reason: code,
        keep_video: $('opt-keep').checked } });
      state.summary = summary;
      stopped(message + ' What was recorded so far has been saved and marked as incomplete.',
        summary);
    } catch (err) {
      if (err.status === undefined) lostContact();
      else stopped(message + ' Nothing was recorded yet, so nothing was saved.');
    }
  }

  function stopped(message, summary) {
    $('stopped-msg').textContent = message;
    const btn = $('btn-stopped-results');
    btn.hidden = !(summary && summary.indices);
    btn.onclick = () => showResults(summary);
    show('stopped');
  }

  // ------------------------------------------------------------------ results

  function fmt(v, unit) {
    if (v === null || v === undefined) return '—';
    const digits = unit === '%' ? 0 : 1;
    return (Number(v.toFixed(digits)) + 0).toFixed(digits) + ' ' + unit; // never "-0 %"
  }

  function showResults(summary) {
    state.summary = summary;
    stopCamera();
    $('h-results').textContent = 'Your results for ' + (summary.session_date || 'today');
    $('results-status').textContent = summary.complete ?
      'Thank you: the check is complete and saved on this computer.' :
      summary.stopped_because ?
        'This check was not finished. What was recorded is saved, marked as incomplete.' :
        'Thank you. Some movements could not be seen, so this check is saved as incomplete. ' +
        'Next time, a small, gentle movement facing the camera is enough.';
    const body = document.querySelector('#results-table tbody');
    body.textContent = '';
    summary.indices.forEach((ix) => {
      if (ix.left === null && ix.right === null && ix.status_left !== 'not_visible' &&
          ix.status_right !== 'not_visible') return; // not part of this check
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = ix.label;
      tr.appendChild(th);
      const shown = (side) => ix['status_' + side] === 'not_visible' ? 'not visible' :
        fmt(ix[side], ix.unit);
      [shown('left'), shown('right'),
        (ix.previous_left === null && ix.previous_right === null) ? '—' :
          fmt(ix.previous_left, ix.unit) + ' / ' + fmt(ix.previous_right, ix.unit)]
        .forEach((text) => {
          const td = document.createElement('td');
          td.textContent = text;
          tr.appendChild(td);
        });
      body.appendChild(tr);
    });
    $('results-table').hidden = !body.children.length; // nothing measured: no empty table
    const blinkList = $('results-blink-list');
    blinkList.textContent = '';
    (summary.blink || []).forEach((b) => {
      const li = document.createElement('li');
      li.textContent = b.text;
      li.className = b.status;
      blinkList.appendChild(li);
    });
    $('results-blink').hidden = !blinkList.children.length;
    const flags = $('results-flags');
    flags.textContent = '';
    flags.hidden = !summary.flags.length;
    summary.flags.forEach((f) => {
      const p = document.createElement('p');
      p.textContent = f.charAt(0).toUpperCase() + f.slice(1); // it ends with "worth discussing with your therapist"
      flags.appendChild(p);
    });
    const gentle = $('results-gentler');
    gentle.hidden = !summary.gentler;
    gentle.textContent = summary.gentler ? 'Next time, a little gentler: ' + summary.gentler +
      '. Small movements are what the exercises need.' : '';
    const changes = $('results-changes');
    changes.textContent = '';
    summary.changes.forEach((c) => {
      const li = document.createElement('li');
      li.textContent = c;
      changes.appendChild(li);
    });
    $('results-note').textContent = summary.note;
    showAnnotated(summary);
    show('results');
    api('/api/history').then(drawHistory).catch(() => {
      $('chart').textContent = 'The history could not be loaded.';
    });
  }

  // The annotated video: made on request, only for a session whose video was kept.
  function showAnnotated(summary) {
    const box = $('results-video');
    box.hidden = !(summary.video_kept && summary.session_id);
    const btn = $('btn-annotate');
    btn.disabled = false;
    btn.hidden = false;
    $('annotate-status').textContent = '';
    $('annotated').hidden = true;
    $('annotated-link').hidden = true;
    btn.onclick = () => {
      btn.disabled = true;
      $('annotate-status').textContent = 'Making the video. This can take about as long as ' +
        'the check itself…';
      api('/api/session/annotate', { json: { session_id: summary.session_id } }).then((res) => {
        const url = res.url + '&t=' + encodeURIComponent(TOKEN);
        const video = $('annotated');
        video.src = url;
        video.hidden = false;
        const link = $('annotated-link');
        link.href = url;
        link.hidden = false;
        btn.hidden = true;
        $('annotate-status').textContent = 'Here it is. Left and right are your own sides.';
      }).catch((err) => {
        btn.disabled = false;
        $('annotate-status').textContent = 'The video could not be made: ' + err.message;
      });
    };
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach((k) => e.setAttribute(k, attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function drawHistory(history) {
    const chooser = $('chart-choose');
    chooser.textContent = '';
    const series = history.series.filter((s) => s.points.length);
    if (!series.length) { $('chart').textContent = 'No past checks yet.'; return; }
    let current = series[0].stem;
    series.forEach((s) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = s.label;
      b.setAttribute('aria-pressed', String(s.stem === current));
      b.addEventListener('click', () => {
        current = s.stem;
        chooser.querySelectorAll('button').forEach((x) => x.setAttribute('aria-pressed', 'false'));
        b.setAttribute('aria-pressed', 'true');
        drawChart(s);
      });
      chooser.appendChild(b);
    });
    drawChart(series[0]);
  }

  function shortDate(iso) {
    const d = new Date(iso + 'T12:00:00');
    if (isNaN(d.getTime())) return iso;
    return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
  }

  function drawChart(s) {
    const W = 720, H = 300, L = 64, R = 24, T = 24, B = 56;
    const pts = s.points.slice(-12);
    const vals = [];
    pts.forEach((p) => ['left', 'right'].forEach((k) => { if (p[k] !== null) vals.push(p[k]); }));
    let lo = Math.min(0, ...vals), hi = Math.max(...vals);
    if (hi - lo < 1e-6) hi = lo + 1;
    const raw = (hi - lo) / 4;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const tickStep = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw);
    lo = Math.floor(lo / tickStep) * tickStep;
    const nTicks = Math.max(1, Math.ceil((Math.max(...vals) - lo) / tickStep - 1e-9));
    hi = lo + nTicks * tickStep;
    const x = (i) => L + (pts.length === 1 ? (W - L - R) / 2 : i * (W - L - R) / (pts.length - 1));
    const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    const svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', class: 'chart-svg',
      'aria-label': s.label + ' over your last ' + pts.length + ' checks, left and right side' });
    svg.appendChild(el('title', {}, s.label + ' (' + s.unit + ')'));
    for (let k = 0; k <= nTicks; k++) {
      const v = lo + tickStep * k;
      svg.appendChild(el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
      svg.appendChild(el('text', { x: L - 8, y: y(v) + 5, class: 'tick', 'text-anchor': 'end' },
        (tickStep >= 1 ? v.toFixed(0) : v.toFixed(1))));
    }
    pts.forEach((p, i) => {
      svg.appendChild(el('text', { x: x(i), y: H - B + 22, class: 'tick', 'text-anchor': 'middle' },
        shortDate(p.date)));
    });
    [['left', 'line-left'], ['right', 'line-right']].forEach(([side, cls]) => {
      const coords = pts.map((p, i) => (p[side] === null ? null : x(i) + ',' + y(p[side])))
        .filter((c) => c !== null);
      if (coords.length > 1) svg.appendChild(el('polyline', { points: coords.join(' '), class: cls }));
      pts.forEach((p, i) => {
        if (p[side] === null) return;
        const dot = el('circle', { cx: x(i), cy: y(p[side]), r: 6,
          class: cls + (p.complete ? '' : ' incomplete') });
        dot.appendChild(el('title', {}, p.date + ', ' + side + ': ' + fmt(p[side], s.unit)));
        svg.appendChild(dot);
      });
    });
    svg.appendChild(el('text', { x: L, y: H - 8, class: 'legend line-left-text' }, '━ your left side (solid)'));
    svg.appendChild(el('text', { x: L + 220, y: H - 8, class: 'legend line-right-text' },
      '╍ your right side (dashed)'));
    svg.appendChild(el('text', { x: W - R, y: T - 6, class: 'tick', 'text-anchor': 'end' }, s.unit));
    const chart = $('chart');
    chart.textContent = '';
    chart.appendChild(svg);
  }

  // ------------------------------------------------------------------ wiring

  function bye() {
    stopCamera();
    navigator.sendBeacon('/api/bye?t=' + encodeURIComponent(TOKEN), new Blob(['{}']));
    show('bye');
  }

  async function init() {
    try {
      state.config = await api('/api/config');
    } catch (err) {
      lostContact();
      return;
    }
    const total = state.config.protocol.steps.reduce((a, s) => a + s.duration_s, 0);
    const minutes = Math.round(total / 60);
    $('welcome-minutes').textContent = minutes <= 1 ? 'one minute' : minutes + ' minutes';
    $('opt-keep').checked = !!state.config.keep_video;
    $('btn-camera').addEventListener('click', startCamera);
    $('btn-camera-retry').addEventListener('click', startCamera);
    $('btn-start').addEventListener('click', () => { runSession(); });
    $('btn-stop').addEventListener('click', () =>
      stopSession('user_stopped', 'You stopped the check.'));
    $('btn-done').addEventListener('click', bye);
    $('btn-stopped-close').addEventListener('click', bye);
    setInterval(heartbeat, state.config.heartbeat_ms);
    show('welcome');
  }

  document.addEventListener('DOMContentLoaded', init);
}());
