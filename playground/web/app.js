// The playground page: the channel as the bot's users see it, live over server-sent events, and
// a composer that sends messages, files and slash commands as "you". No framework: the
// rendering is in render.js / commands.js (pure, tested in Node); this file wires the DOM.
import { commandPaths, matchCommands, missingRequired, renderCommandForm } from './commands.js';
import { escapeHtml } from './markdown.js';
import { renderMessage } from './render.js';

const MAX_FILES = 10;
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const REACTIONS = ['✅', '🗑️', '1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣', '👍', '❤️'];

const $ = (selector) => document.querySelector(selector);
const ui = {
  user: localStorage.getItem('kodiak.user') || 'you',
  channel: localStorage.getItem('kodiak.channel') || '',
  state: null,
  paths: [],
  messages: new Map(),
  files: [],
  command: null,
  events: null,
};

document.body.innerHTML = `
<header class="top">
  <div class="guild" id="guild">Kodiak playground</div>
  <div class="me">
    <label>You are <input id="me-name" maxlength="32" autocomplete="off"></label>
    <label class="toggle"><input type="checkbox" id="me-moderator"> Manage Messages</label>
  </div>
</header>
<div class="layout">
  <nav class="channels" id="channels"></nav>
  <main class="channel">
    <div class="banner" id="banner" hidden></div>
    <div class="messages" id="messages" aria-live="polite"></div>
    <div class="composer">
      <div class="picker" id="picker" hidden></div>
      <div class="command-slot" id="command-slot"></div>
      <div class="pending" id="pending"></div>
      <div class="compose-row">
        <label class="attach" title="Attach files">+<input type="file" id="attach" multiple hidden></label>
        <textarea id="composer" rows="1" placeholder="Message, or / for commands (drop images or a zip anywhere)"></textarea>
        <button type="button" class="button primary" id="send">Send</button>
      </div>
    </div>
  </main>
</div>
<div class="drop-overlay" id="drop" hidden>Drop images or a zip to attach them</div>
<div class="palette" id="palette" hidden></div>
<div class="toasts" id="toasts"></div>`;

function toast(text, kind = 'error') {
  const el = document.createElement('div');
  el.className = `toast ${kind}`;
  el.textContent = text;
  $('#toasts').append(el);
  setTimeout(() => el.remove(), 6000);
}

async function api(path, body, files = []) {
  let init = {};
  if (body !== undefined) {
    if (files.length) {
      const form = new FormData();
      form.append('json', JSON.stringify(body));
      for (const { field, file } of files) form.append(field, file, file.name);
      init = { method: 'POST', body: form };
    } else {
      init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    }
  }
  const res = await fetch(path, init);
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.message || `${res.status} ${res.statusText}`);
  return json;
}

const q = (params) => new URLSearchParams(params).toString();

function names() {
  const users = {};
  for (const m of ui.messages.values()) {
    users[m.author.id] = m.author.global_name ?? m.author.username;
    for (const u of m.mentions ?? []) users[u.id] = u.global_name ?? u.username;
  }
  const channels = Object.fromEntries((ui.state?.channels ?? []).map((c) => [c.id, c.name]));
  return { users, channels };
}

// ---- the channel ----

function paint(el) {
  for (const embed of el.querySelectorAll('[data-color]')) embed.style.borderLeftColor = embed.dataset.color;
}

function atBottom() {
  const box = $('#messages');
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function upsert(message) {
  if (message.channel_id !== ui.channel) return;
  const stick = atBottom();
  ui.messages.set(message.id, message);
  const html = renderMessage(message, names());
  const existing = document.getElementById(`m-${message.id}`);
  const holder = document.createElement('div');
  holder.innerHTML = html;
  const el = holder.firstElementChild;
  paint(el);
  if (existing) existing.replaceWith(el);
  else {
    const later = [...$('#messages').children].find((c) => BigInt(c.dataset.id) > BigInt(message.id));
    if (later) later.before(el);
    else $('#messages').append(el);
  }
  if (stick) $('#messages').scrollTop = $('#messages').scrollHeight;
}

function remove(id) {
  ui.messages.delete(id);
  document.getElementById(`m-${id}`)?.remove();
}

async function loadMessages() {
  const list = await api(`/playground/messages?${q({ user: ui.user, channel: ui.channel })}`);
  ui.messages = new Map(list.map((m) => [m.id, m]));
  const box = $('#messages');
  const n = names();
  box.innerHTML = list.map((m) => renderMessage(m, n)).join('') || '<p class="empty">No messages yet. Try <code>/help</code> or <code>/train bears</code>.</p>';
  paint(box);
  box.scrollTop = box.scrollHeight;
}

function connect() {
  ui.events?.close();
  const events = new EventSource(`/playground/events?${q({ user: ui.user })}`);
  ui.events = events;
  events.addEventListener('message', (e) => {
    $('#messages .empty')?.remove();
    upsert(JSON.parse(e.data));
  });
  events.addEventListener('delete', (e) => remove(JSON.parse(e.data).id));
  events.addEventListener('commands', () => void loadState());
  events.addEventListener('failed', (e) => toast(`${ui.state?.bot?.username ?? 'The bot'}: ${JSON.parse(e.data).message}`));
  // After a dropped connection, reload so nothing missed stays missing.
  events.addEventListener('open', () => {
    if (ui.connectedOnce) void loadMessages();
    ui.connectedOnce = true;
  });
}

// ---- state: guild, channels, commands, "you", image search ----

function renderBanner(search) {
  const banner = $('#banner');
  if (!search || search.reachable.length) {
    banner.hidden = true;
    return;
  }
  const why = Object.entries(search.unreachable).map(([id, reason]) => `${id}: ${reason}`).join(', ');
  const guild = ui.state.guild.id;
  banner.innerHTML = `<strong>No image search answers from here</strong> (${escapeHtml(why || 'none configured')}), so <code>/train</code> cannot collect pictures. Bring your own instead: drop photos or a zip of class folders with <code>/dataset add</code>, or import a folder from a terminal: <code>npx kodiak dataset import &lt;name&gt; &lt;folder&gt; --guild ${escapeHtml(guild)}</code>.`;
  banner.hidden = false;
}

async function loadState() {
  const state = await api(`/playground/state?${q({ user: ui.user })}`);
  ui.state = state;
  ui.paths = commandPaths(state.commands, state.me.permissions);
  if (!state.channels.some((c) => c.id === ui.channel)) ui.channel = state.channels[0]?.id ?? '';
  $('#guild').textContent = state.guild.name;
  $('#channels').innerHTML = state.channels.map((c) => `<button type="button" class="channel-link${c.id === ui.channel ? ' active' : ''}" data-action="channel" data-channel="${escapeHtml(c.id)}"># ${escapeHtml(c.name)}</button>`).join('');
  $('#me-name').value = state.me.name;
  $('#me-moderator').checked = state.me.moderator;
  document.title = `#${state.channels.find((c) => c.id === ui.channel)?.name ?? ''} · Kodiak playground`;
  renderBanner(state.search);
  if (state.search === null) setTimeout(() => void loadState().catch(() => {}), 2000);
}

async function switchUser(name, moderator) {
  // Locked until the server has the new name and role, so no click is sent as the old one.
  $('#me-moderator').disabled = true;
  $('#me-name').disabled = true;
  try {
    const me = await api('/playground/me', { user: name, ...(moderator === undefined ? {} : { moderator }) });
    ui.user = me.name;
    localStorage.setItem('kodiak.user', ui.user);
    await loadState();
    await loadMessages();
    connect();
  } finally {
    $('#me-moderator').disabled = false;
    $('#me-name').disabled = false;
  }
}

// ---- composer: messages, files, slash commands ----

function renderPending() {
  $('#pending').innerHTML = ui.files.map((f, i) => `<span class="chip">${escapeHtml(f.name)} <button type="button" data-action="unattach" data-index="${i}" title="Remove">×</button></span>`).join('');
}

function addFiles(list) {
  for (const file of list) {
    if (file.size > MAX_FILE_BYTES) {
      toast(`${file.name} is over 10 MiB, Discord's limit for a file.`);
      continue;
    }
    if (ui.files.length >= MAX_FILES) {
      toast(`Discord takes at most ${MAX_FILES} files per message.`);
      break;
    }
    ui.files.push(file);
  }
  renderPending();
}

async function sendMessage() {
  const content = $('#composer').value;
  if (!content.trim() && ui.files.length === 0) return;
  const files = ui.files.map((file) => ({ field: 'files', file }));
  await api('/playground/send', { user: ui.user, channel: ui.channel, content }, files);
  $('#composer').value = '';
  ui.files = [];
  renderPending();
}

function showPicker() {
  const text = $('#composer').value;
  const picker = $('#picker');
  if (!text.startsWith('/') || ui.command) {
    picker.hidden = true;
    return;
  }
  const matches = matchCommands(ui.paths, text).slice(0, 12);
  picker.innerHTML = matches.map((p, i) => `<button type="button" class="pick${i === 0 ? ' active' : ''}" data-action="pick" data-path="${escapeHtml(p.path)}"><span class="pick-name">/${escapeHtml(p.path)}</span> <span class="pick-description">${escapeHtml(p.description ?? '')}</span></button>`).join('') || '<div class="pick none">No command matches</div>';
  picker.hidden = false;
}

function openCommand(path) {
  const entry = ui.paths.find((p) => p.path === path);
  if (!entry) return;
  ui.command = entry;
  $('#picker').hidden = true;
  $('#composer').value = '';
  $('#command-slot').innerHTML = renderCommandForm(entry);
  const inputs = [...$('#command-slot').querySelectorAll('input[type=file]')];
  // Files already attached go to the command's attachment options, in order.
  for (const input of inputs) {
    const file = ui.files.shift();
    if (!file) break;
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
  }
  renderPending();
  $('#command-slot').querySelector('input, select')?.focus();
}

function closeCommand() {
  ui.command = null;
  $('#command-slot').innerHTML = '';
}

async function runCommand(form) {
  const entry = ui.command;
  const options = {};
  const files = [];
  for (const input of form.querySelectorAll('[data-option]')) {
    const name = input.dataset.option;
    if (input.type === 'file') {
      if (input.files[0]) {
        files.push({ field: name, file: input.files[0] });
        options[name] = input.files[0].name;
      }
    } else if (input.value !== '') options[name] = input.value;
  }
  const missing = missingRequired(entry, options);
  if (missing.length) {
    toast(`/${entry.path} needs ${missing.join(', ')}.`);
    return;
  }
  for (const { field } of files) delete options[field];
  closeCommand();
  await api('/playground/command', { user: ui.user, channel: ui.channel, command: entry.path, options }, files);
}

// ---- events ----

const act = (promise) => promise.catch((err) => toast(err.message));

document.addEventListener('click', (event) => {
  const target = event.target.closest('[data-action]');
  if (!target) {
    if (!event.target.closest('#palette')) $('#palette').hidden = true;
    return;
  }
  const { action } = target.dataset;
  const base = { user: ui.user, message: target.dataset.message };
  switch (action) {
    case 'click':
      act(api('/playground/click', { ...base, customId: target.dataset.customId }));
      break;
    case 'react':
      act(api('/playground/react', { ...base, emoji: target.dataset.emoji, on: target.dataset.on !== 'false' }));
      $('#palette').hidden = true;
      break;
    case 'react-menu': {
      const palette = $('#palette');
      palette.innerHTML = REACTIONS.map((e) => `<button type="button" data-action="react" data-message="${escapeHtml(target.dataset.message)}" data-emoji="${escapeHtml(e)}" data-on="true">${e}</button>`).join('');
      const box = target.getBoundingClientRect();
      palette.style.left = `${Math.min(box.left, window.innerWidth - 260)}px`;
      palette.style.top = `${Math.max(8, box.top - 48)}px`;
      palette.hidden = false;
      break;
    }
    case 'select-send': {
      const select = target.previousElementSibling;
      act(api('/playground/select', { ...base, customId: target.dataset.customId, values: [...select.selectedOptions].map((o) => o.value) }));
      break;
    }
    case 'pick':
      openCommand(target.dataset.path);
      break;
    case 'cancel-command':
      closeCommand();
      break;
    case 'unattach':
      ui.files.splice(Number(target.dataset.index), 1);
      renderPending();
      break;
    case 'channel':
      ui.channel = target.dataset.channel;
      localStorage.setItem('kodiak.channel', ui.channel);
      act(loadState().then(loadMessages));
      break;
  }
});

document.addEventListener('change', (event) => {
  const select = event.target.closest('select[data-action="select"]');
  if (select && !select.multiple) {
    act(api('/playground/select', { user: ui.user, message: select.dataset.message, customId: select.dataset.customId, values: [select.value] }));
  }
});

document.addEventListener('submit', (event) => {
  const form = event.target.closest('.command-form');
  if (!form) return;
  event.preventDefault();
  act(runCommand(form));
});

$('#composer').addEventListener('input', showPicker);
$('#composer').addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.shiftKey) return;
  event.preventDefault();
  const text = $('#composer').value;
  if (text.startsWith('/')) {
    const first = $('#picker .pick[data-path]');
    if (first) openCommand(first.dataset.path);
    return;
  }
  act(sendMessage());
});
$('#send').addEventListener('click', () => act(sendMessage()));
$('#attach').addEventListener('change', (event) => {
  addFiles(event.target.files);
  event.target.value = '';
});
$('#me-name').addEventListener('change', (event) => act(switchUser(event.target.value)));
$('#me-moderator').addEventListener('change', (event) => act(switchUser(ui.user, event.target.checked)));

// Drag and drop anywhere: into an open command's empty file options, else onto the message.
let dragDepth = 0;
document.addEventListener('dragenter', (event) => {
  if (![...(event.dataTransfer?.types ?? [])].includes('Files')) return;
  dragDepth++;
  $('#drop').hidden = false;
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) $('#drop').hidden = true;
});
document.addEventListener('dragover', (event) => event.preventDefault());
document.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  $('#drop').hidden = true;
  const files = [...(event.dataTransfer?.files ?? [])];
  const empty = [...document.querySelectorAll('.command-form input[type=file]')].filter((i) => i.files.length === 0);
  while (files.length && empty.length) {
    const transfer = new DataTransfer();
    transfer.items.add(files.shift());
    empty.shift().files = transfer.files;
  }
  addFiles(files);
});

// ---- start ----

act((async () => {
  await loadState();
  await loadMessages();
  connect();
})());
