// The Grapevine browser example: one wasm peer per tab. State is also kept
// in window.grapevineState() for the browser test.
import { Grapevine } from './grapevine.js';

const CHAT = 'chat';
const SEEN = 'grapevine/seen';
const $ = (id) => document.getElementById(id);
const short = (id) => id.length > 12 ? '…' + id.slice(-8) : id;

const state = { id: null, error: null, messages: [], seen: new Map(), members: [], conns: [], startedMs: null, joinedMs: null, events: [] };
window.grapevineState = () => ({
  id: state.id, error: state.error, startedMs: state.startedMs, joinedMs: state.joinedMs, events: state.events,
  messages: state.messages.map(({ key, from, text, local, latencyMs }) => ({ key, from, text, local, latencyMs })),
  members: state.members, conns: state.conns,
});

function setStatus(text, error) {
  $('status').textContent = text;
  $('status').classList.toggle('error', !!error);
}

function seenBy(key) {
  if (!state.seen.has(key)) state.seen.set(key, new Set());
  return state.seen.get(key);
}

async function main() {
  const cfg = await (await fetch('config.json')).json();
  const params = new URLSearchParams(location.search);
  const node = await Grapevine.start({
    bootstrap: cfg.bootstrap, group: params.get('group') || cfg.group, profile: cfg.profile || undefined,
    iceServers: cfg.iceServers, webrtc: params.get('webrtc') !== '0',
    webrtcFromNonMembers: params.get('nonmembers') === '1',
    // A closed group (README, "Query options"): base64 identity, authority key, certificate.
    identity: params.get('identity') || undefined,
    authorityPublicKey: params.get('authority') || undefined,
    certificate: params.get('certificate') || undefined,
    onNotice: (line) => console.log('grapevine:', line),
  });
  window.grapevineNode = node;
  state.startedMs = Math.round(performance.now()); // navigation start -> peer started
  state.id = node.id;
  // navigation start -> another member known alive (the page has joined)
  const noteJoined = () => {
    if (state.joinedMs === null && node.members().some((m) => !m.self && m.state === 'alive')) {
      state.joinedMs = Math.round(performance.now());
    }
  };
  noteJoined();
  $('self').textContent = node.id;
  setStatus('connected');

  const recent = new Map(); // keys received lately -> time, for our own seen reports
  let dirty = false;
  node.subscribe(CHAT, (m) => {
    state.messages.push(m);
    if (state.messages.length > 1000) state.messages.shift();
    seenBy(m.key).add(node.id);
    recent.set(m.key, Date.now());
    dirty = true;
    const li = document.createElement('li');
    li.innerHTML = '<span class="from"></span> <span class="text"></span>';
    li.querySelector('.from').textContent = (m.local ? 'me' : short(m.from)) + ':';
    li.querySelector('.text').textContent = m.text;
    $('log').prepend(li);
    while ($('log').children.length > 200) $('log').lastChild.remove();
    scheduleDraw();
  });
  node.subscribe(SEEN, (m) => {
    try {
      for (const k of JSON.parse(m.text).keys || []) seenBy(k).add(m.from);
    } catch { /* not a seen report */ }
    scheduleDraw();
  });
  setInterval(() => {
    const now = Date.now();
    for (const [k, t] of recent) if (now - t > 30000) recent.delete(k);
    if (!dirty || recent.size === 0) return;
    dirty = false;
    node.publish(SEEN, JSON.stringify({ keys: [...recent.keys()] })).catch((e) => console.warn(e.message));
  }, 1000);

  node.on('member', (ev) => {
    console.log('member', ev.kind, ev.member.id);
    noteJoined();
    state.events.push({ kind: ev.kind, id: ev.member.id });
    if (state.events.length > 500) state.events.shift();
  });
  setInterval(drawMembers, 300);
  drawMembers();

  $('publish').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('text').value.trim();
    if (!text) return;
    $('text').value = '';
    try {
      await node.publish(CHAT, text);
    } catch (err) {
      setStatus(err.message, true);
    }
  });
}

function drawMembers() {
  const node = window.grapevineNode;
  state.members = node.members();
  state.conns = node.connections();
  const link = new Map(state.conns.map((c) => [c.peer, c.transport]));
  const tbody = $('members').querySelector('tbody');
  tbody.textContent = '';
  const sorted = [...state.members].sort((a, b) => (b.self - a.self) || a.id.localeCompare(b.id));
  for (const m of sorted) {
    const tr = document.createElement('tr');
    if (m.self) tr.className = 'self';
    const browser = m.addrs.some((a) => a.includes('/p2p-circuit/webrtc')) || (m.self);
    for (const [text, cls] of [[short(m.id) + (m.self ? ' (this tab)' : ''), ''], [browser ? 'browser' : 'native', ''],
      [m.state, 'state-' + m.state], [m.self ? '' : (link.get(m.id) || '–'), '']]) {
      const td = document.createElement('td');
      td.textContent = text;
      td.title = m.id;
      if (cls) td.className = cls;
      tr.append(td);
    }
    tbody.append(tr);
  }
  $('member-count').textContent = `(${state.members.filter((m) => m.state === 'alive').length} alive)`;
  scheduleDraw();
}

// Redraws are coalesced: the page shares its one thread with the Go
// runtime, so drawing on every message would delay the peer itself.
let drawTimer = null;
function scheduleDraw() {
  if (drawTimer === null) drawTimer = setTimeout(() => { drawTimer = null; drawPicture(); }, 150);
}

function drawPicture() {
  const cols = [...state.members].filter((m) => m.state !== 'left').sort((a, b) => (b.self - a.self) || a.id.localeCompare(b.id));
  const rows = state.messages.slice(-12).reverse();
  const t = document.createElement('table');
  const head = document.createElement('tr');
  head.append(document.createElement('th'));
  for (const c of cols) {
    const th = document.createElement('th');
    th.textContent = c.self ? 'me' : short(c.id);
    head.append(th);
  }
  t.append(head);
  for (const m of rows) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.className = 'msg';
    td.textContent = m.text;
    tr.append(td);
    const have = state.seen.get(m.key) || new Set();
    for (const c of cols) {
      const cell = document.createElement('td');
      if (have.has(c.id)) cell.className = 'has';
      tr.append(cell);
    }
    t.append(tr);
  }
  $('picture').textContent = '';
  $('picture').append(t);
}

main().catch((err) => {
  console.error(err);
  state.error = err.message;
  setStatus(err.message, true);
});
