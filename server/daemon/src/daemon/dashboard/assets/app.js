// Lathe's dashboard: hash routes (#/sessions, #/session/ID, #/approvals (with the MCP
// servers' questions), #/metrics, #/mcp) over the daemon's /api and /events. The token
// comes from /?token= (then leaves the address bar) or the sign-in form, lives in this
// origin's localStorage (per port, unlike a cookie), and travels as a bearer header, or as
// ?token= for the one EventSource a tab opens. Every piece of data reaches the DOM as text
// (h() never parses HTML), so a transcript cannot inject markup.

const view = document.getElementById('view');
const banner = document.getElementById('banner');
const approvalCount = document.getElementById('approval-count');
const daemonStatus = document.getElementById('daemon-status');

const SVG = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'lathe-token';
const EVENT_TYPES = [
  'RUN_STARTED', 'RUN_FINISHED', 'RUN_ERROR', 'STEP_STARTED', 'STEP_FINISHED',
  'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END',
  'TOOL_CALL_START', 'TOOL_CALL_ARGS', 'TOOL_CALL_END', 'TOOL_CALL_RESULT',
  'STATE_SNAPSHOT', 'CUSTOM',
];
const DECISIONS = [
  ['allow_once', 'Allow once'],
  ['allow_for_session', 'Allow for session'],
  ['deny', 'Deny'],
];

// ---- DOM and HTTP helpers -------------------------------------------------------------

/** An element with attributes (`on*` functions become listeners) and text or node children. */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attrs);
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return element;
}

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  setAttributes(element, attrs);
  element.append(...children.map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return element;
}

function setAttributes(element, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

/** The stored token, `null` when there is none (or storage is blocked). */
function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(value) {
  try {
    if (value === null) localStorage.removeItem(TOKEN_KEY); else localStorage.setItem(TOKEN_KEY, value);
  } catch { /* this tab keeps it in memory */ }
}

/** The token of `/?token=` (stored, then removed from the address bar) or the stored one. */
function takeToken() {
  const given = new URLSearchParams(location.search).get('token');
  if (given) {
    storeToken(given);
    history.replaceState(null, '', `/${location.hash}`);
    return given;
  }
  return storedToken();
}

let token = takeToken();

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const sent = token;
  if (!sent) throw new Unauthorized('signed out');
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { ...options.headers, authorization: `Bearer ${sent}` },
    });
  } catch (error) {
    showBanner('The daemon does not answer. Is it still running? (`lathe status`)');
    throw error;
  }
  if (response.status === 401) {
    // Only the token in use now is stale: a reply to an older one changes nothing.
    if (sent === token) {
      signIn('The daemon does not accept this token: a daemon that restarted has a new one (`lathe status` prints it).', sent);
    }
    throw new Unauthorized(await response.text());
  }
  if (!response.ok) {
    throw new Error(`${response.status}: ${(await response.text()).trim()}`);
  }
  hideBanner();
  return response.json();
}

function showBanner(message) {
  banner.textContent = message;
  banner.hidden = false;
}

function hideBanner() {
  banner.textContent = '';
  banner.hidden = true;
}

/** Replaces the page with the sign-in form (`why` says what went wrong, if anything);
 * `stale` is the token found wrong, forgotten unless another tab stored a newer one. */
function signIn(why, stale) {
  if (stale !== undefined) {
    const stored = storedToken();
    if (stored && stored !== stale) {
      token = stored;
      start();
      return;
    }
    storeToken(null);
  }
  token = null;
  const shown = document.getElementById('sign-in');
  if (shown) {
    const reason = document.getElementById('sign-in-reason');
    if (why && reason) reason.textContent = why;
    return;
  }
  stopFollowing();
  leaveView();
  leaveView = () => {};
  onLiveEvent = null;
  onStreamOpen = null;
  viewGeneration += 1;
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-label': 'Token',
  });
  const form = h('form', { id: 'sign-in', class: 'panel' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'error', id: 'sign-in-reason' }, why || ''),
    h('p', {}, 'Run ', h('code', {}, 'lathe status'), ' and open the dashboard URL it prints, or paste its token here.'),
    input,
    h('button', { type: 'submit' }, 'Open the dashboard'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    token = input.value.trim();
    storeToken(token);
    start();
  });
  hideBanner();
  view.replaceChildren(form);
  input.focus();
}

function errorBox(error) {
  return h('p', { class: 'error' }, error instanceof Error ? error.message : String(error));
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function ago(ms) {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

function timeOf(ms) {
  return h('time', { datetime: new Date(ms).toISOString(), title: new Date(ms).toLocaleString() }, ago(ms));
}

/** `count` and the noun, plural unless it is one. */
function plural(count, noun) {
  return `${number(count)} ${noun}${count === 1 ? '' : 's'}`;
}

function number(n) {
  return Number(n).toLocaleString('en-US');
}

function usd(value) {
  return `$${value < 1 ? value.toFixed(4) : value.toFixed(2)}`;
}

function ms(value) {
  if (value === null || value === undefined) return '—';
  return value >= 1000 ? `${(value / 1000).toFixed(value >= 10000 ? 0 : 1)} s` : `${value} ms`;
}

// ---- Routing and the global event stream ---------------------------------------------

/** Bumped whenever the view changes: work a view started checks it before touching the DOM. */
let viewGeneration = 0;
/** What the current view wants: every live event, and a call when the stream (re)connects. */
let onLiveEvent = null;
let onStreamOpen = null;
/** Undoes the current view's timers. */
let leaveView = () => {};

/** A function telling whether the view that called this is still the one shown. */
function viewAlive() {
  const generation = viewGeneration;
  return () => generation === viewGeneration;
}

const ROUTES = {
  sessions: renderSessions,
  session: renderSession,
  approvals: renderApprovals,
  metrics: renderMetrics,
  mcp: renderMcp,
};

function route() {
  if (!token) {
    signIn();
    return;
  }
  leaveView();
  leaveView = () => {};
  onLiveEvent = null;
  onStreamOpen = null;
  viewGeneration += 1;
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const current = Object.hasOwn(ROUTES, name) ? name : 'sessions';
  for (const link of document.querySelectorAll('nav a')) {
    link.classList.toggle('active', link.dataset.route === current
      || (current === 'session' && link.dataset.route === 'sessions'));
  }
  let argument = rest.join('/');
  try {
    argument = decodeURIComponent(argument);
  } catch { /* shown as typed */ }
  view.replaceChildren();
  ROUTES[current](argument);
}

/** The tab's one live stream: every session's events, for whichever view is shown. */
let stream = null;

function follow() {
  stopFollowing();
  stream = new EventSource(`/events?token=${encodeURIComponent(token)}`);
  const refresh = debounce(() => { refreshApprovalCount(); refreshDaemonStatus(); }, 200);
  for (const type of EVENT_TYPES) {
    stream.addEventListener(type, (message) => {
      const event = JSON.parse(message.data);
      if (type.startsWith('RUN_') || (type === 'CUSTOM' && event.name.startsWith('approval.'))) refresh();
      if (onLiveEvent) onLiveEvent(event);
    });
  }
  for (const type of ['question.asked', 'question.resolved', 'question.resync']) {
    stream.addEventListener(type, (message) => {
      refresh();
      if (onLiveEvent) onLiveEvent({ type: 'QUESTION', question: JSON.parse(message.data) });
    });
  }
  stream.addEventListener('open', () => {
    document.body.dataset.live = 'true';
    hideBanner();
    refresh();
    if (onStreamOpen) onStreamOpen();
  });
  const mine = stream;
  stream.addEventListener('error', () => {
    document.body.dataset.live = 'false';
    if (mine.readyState !== EventSource.CLOSED) return;
    // The browser gave up (a refusal, or the daemon is gone): find out which, then retry.
    const retry = (delay) => setTimeout(() => {
      if (stream !== mine) return;
      api('/api/status').then(() => follow(), (error) => {
        if (!(error instanceof Unauthorized)) retry(Math.min(delay * 2, 30000));
      });
    }, delay);
    retry(1000);
  });
}

function stopFollowing() {
  if (stream) stream.close();
  stream = null;
  document.body.dataset.live = 'false';
}

async function refreshApprovalCount() {
  try {
    const [approvals, questions] = await Promise.all([api('/api/approvals'), api('/api/questions')]);
    const waiting = approvals.length + questions.length;
    approvalCount.textContent = waiting;
    approvalCount.hidden = waiting === 0;
  } catch { /* the banner says why */ }
}

async function refreshDaemonStatus() {
  try {
    const status = await api('/api/status');
    const model = status.model.configured ? status.model.model || status.model.base_url : 'no model configured';
    daemonStatus.textContent = `lathe ${status.version} · pid ${status.pid} · ${model} · ${plural(status.sessions, 'session')}`;
  } catch { /* the banner says why */ }
}

// ---- Sessions -------------------------------------------------------------------------

const sessionFilters = { q: '', status: '', origin: '' };

function renderSessions() {
  const search = h('input', {
    id: 'session-search', type: 'search', placeholder: 'Search titles, ids, workspaces, models',
    value: sessionFilters.q, 'aria-label': 'Search sessions',
  });
  const status = select('status-filter', 'Status',
    ['', 'running', 'idle', 'finished', 'failed', 'cancelled'], sessionFilters.status);
  const origin = select('origin-filter', 'Started from', ['', 'cli', 'lsp', 'mcp', 'dashboard'], sessionFilters.origin);
  const body = h('tbody');
  const summary = h('p', { class: 'muted', id: 'session-count' });
  const alive = viewAlive();
  let latest = 0;
  const load = async () => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(sessionFilters)) if (value) params.set(key, value);
    const mine = ++latest;
    try {
      const sessions = await api(`/api/sessions?${params}`);
      // A newer query (or another view) superseded this one.
      if (mine !== latest || !alive()) return;
      summary.textContent = plural(sessions.length, 'session');
      body.replaceChildren(...sessions.map(sessionRow));
      if (sessions.length === 0) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No sessions match.')));
    } catch (error) {
      if (mine === latest && alive()) body.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, errorBox(error))));
    }
  };
  const reload = debounce(() => { if (alive()) load(); }, 150);
  search.addEventListener('input', () => { sessionFilters.q = search.value; reload(); });
  status.addEventListener('change', () => { sessionFilters.status = status.value; load(); });
  origin.addEventListener('change', () => { sessionFilters.origin = origin.value; load(); });
  onLiveEvent = (event) => { if (event.type.startsWith('RUN_')) reload(); };
  onStreamOpen = reload;
  view.append(
    h('h1', {}, 'Sessions'),
    newRunForm(),
    h('div', { class: 'filters' }, search, status, origin),
    summary,
    h('table', { id: 'sessions' },
      h('thead', {}, h('tr', {}, ['Title', 'Status', 'Origin', 'Workspace', 'Model', 'Usage', 'Updated'].map((t) => h('th', {}, t)))),
      body),
  );
  load();
}

/** Starts a run, as is or through a skill of the workspace, and opens its transcript. */
function newRunForm() {
  const workspace = h('input', { id: 'run-workspace', required: true, placeholder: '/path/to/project', 'aria-label': 'Workspace' });
  const skill = h('select', { id: 'run-skill', 'aria-label': 'Skill' }, h('option', { value: '' }, 'No skill'));
  const file = h('input', { id: 'run-file', placeholder: 'File the skill is about (optional)', 'aria-label': 'File' });
  const prompt = h('textarea', { id: 'run-prompt', rows: 3, placeholder: 'What should Lathe do?', 'aria-label': 'Prompt' });
  const problem = h('div', { id: 'run-error', class: 'error', role: 'alert' });
  let latestSkills = 0;
  const loadSkills = async () => {
    const mine = ++latestSkills;
    const root = workspace.value;
    try {
      const listing = await api(`/api/skills?workspace=${encodeURIComponent(root)}`);
      if (mine !== latestSkills) return;
      // Actions (undo, compact, help) act on an editor's session; they are not runs.
      const usable = listing.skills.filter((s) => s.kind === 'prompt' && s.status !== 'error' && s.status !== 'shadowed');
      const chosen = skill.value;
      skill.replaceChildren(h('option', { value: '' }, 'No skill'),
        ...usable.map((s) => h('option', { value: s.name, title: s.description }, `/${s.name} — ${brief(s.description)}`)));
      if (usable.some((s) => s.name === chosen)) skill.value = chosen;
      skill.dataset.workspace = root;
      problem.textContent = '';
    } catch (error) {
      if (mine === latestSkills) problem.textContent = `Skills: ${error.message}`;
    }
  };
  workspace.addEventListener('change', loadSkills);
  const form = h('form', { id: 'run-form', class: 'run-form' },
    workspace, skill, file, prompt,
    h('div', {}, h('button', { type: 'submit', id: 'run-start' }, 'Start run')),
    problem);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.textContent = '';
    const body = { workspace: workspace.value, prompt: prompt.value };
    if (skill.value) body.skill = skill.value;
    if (file.value) body.file = file.value;
    const button = form.querySelector('#run-start');
    button.disabled = true;
    try {
      const started = await api('/api/runs', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      location.hash = `#/session/${encodeURIComponent(started.sessionId)}`;
    } catch (error) {
      problem.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  const alive = viewAlive();
  api('/api/status').then((status) => {
    if (!alive()) return;
    if (!workspace.value) workspace.value = status.workspace;
    loadSkills();
  }).catch(() => {});
  return h('details', { id: 'new-run', class: 'panel' }, h('summary', {}, 'New run'), form);
}

/** The first sentence of `text`, at most 60 characters. */
function brief(text) {
  const sentence = text.split(/(?<=\.)\s/)[0];
  return sentence.length <= 60 ? sentence : `${sentence.slice(0, 59)}…`;
}

function select(id, label, options, current) {
  return h('select', { id, 'aria-label': label },
    options.map((value) => h('option', { value, selected: value === current }, value || `${label}: any`)));
}

function sessionRow(session) {
  return h('tr', { 'data-session-id': session.id },
    h('td', {}, h('a', { href: `#/session/${encodeURIComponent(session.id)}` }, session.title || session.id)),
    h('td', {}, statusPill(session.status)),
    h('td', {}, session.origin),
    h('td', { class: 'path' }, session.workspace),
    h('td', {}, session.model || '—'),
    h('td', { class: 'usage' }, usageOf(session.usage)),
    h('td', {}, timeOf(session.updatedAt)));
}

/** A session's model use: tokens in and out, and the cost when priced. */
function usageOf(usage) {
  if (!usage || usage.modelCalls === 0) return '—';
  const cost = usage.costMicroUsd > 0 ? ` · ${usd(usage.costMicroUsd / 1e6)}` : '';
  return `${number(usage.inputTokens)} in / ${number(usage.outputTokens)} out${cost}`;
}

function statusPill(status) {
  return h('span', { class: `pill ${status}`, 'data-status': status }, status);
}

// ---- One session's live transcript ----------------------------------------------------

/** The session's transcript: its log from `/api`, then its live events from the tab's
 * stream. Events are applied once each in `seq` order; a live event past a gap (a
 * reconnect, a lagging stream) waits while the log fills the gap, and a read that fails is
 * retried, so nothing is skipped. */
function renderSession(id) {
  const header = h('div', { class: 'session-header' }, h('h1', {}, id));
  const problem = h('div', { class: 'error', role: 'alert' });
  const transcript = h('div', { id: 'transcript', 'data-session-id': id });
  const controls = sessionControls(id);
  view.append(h('p', {}, h('a', { href: '#/sessions' }, '← Sessions')), header, problem, transcript, controls.element);
  const alive = viewAlive();
  let gone = false;
  let latestMeta = 0;
  const showMeta = debounce(async () => {
    const mine = ++latestMeta;
    try {
      const [meta, cancellable] = await Promise.all([
        api(`/api/sessions/${encodeURIComponent(id)}`),
        api('/api/runs'),
      ]);
      if (!alive() || mine !== latestMeta) return;
      problem.textContent = '';
      controls.show(meta.status, cancellable.includes(id));
      header.replaceChildren(
        h('h1', {}, meta.title || meta.id),
        h('p', { class: 'muted' }, statusPill(meta.status), ` ${meta.origin} · ${meta.model || 'no model'} · `,
          h('span', { class: 'usage' }, usageOf(meta.usage)), ' · ',
          h('span', { class: 'path' }, meta.workspace), ' · ', meta.id));
    } catch (error) {
      if (alive() && mine === latestMeta && !(error instanceof Unauthorized)) problem.textContent = error.message;
    }
  }, 100);
  showMeta();
  const render = transcriptRenderer(transcript);
  let lastSeq = 0;
  let reading = false;
  let again = false;
  let retryDelay = 500;
  const waiting = [];
  const apply = (event) => {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    try {
      render(event);
    } catch (error) {
      transcript.append(errorBox(`cannot show event ${event.seq} (${event.type}): ${error.message}`));
    }
    if (event.type.startsWith('RUN_')) showMeta();
  };
  const drain = () => {
    waiting.sort((a, b) => a.seq - b.seq);
    while (waiting.length && waiting[0].seq <= lastSeq + 1) apply(waiting.shift());
  };
  const catchUp = async () => {
    if (gone || !alive()) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    let failed = false;
    try {
      do {
        again = false;
        for (;;) {
          const page = await api(`/api/sessions/${encodeURIComponent(id)}/events?after=${lastSeq}&limit=1000`);
          if (!alive()) return;
          page.forEach(apply);
          if (page.length < 1000) break;
        }
      } while (again);
      problem.textContent = '';
      retryDelay = 500;
    } catch (error) {
      failed = true;
      if (!alive() || error instanceof Unauthorized) return;
      if (error.message.startsWith('404')) {
        gone = true;
        header.replaceChildren(h('h1', {}, id), errorBox(`There is no session ${id}.`));
        return;
      }
      problem.textContent = `Reading the session: ${error.message} (retrying)`;
    } finally {
      reading = false;
    }
    drain();
    if (failed || waiting.length) {
      // The log could not be read, or still lacks what the live events skipped: retry.
      setTimeout(catchUp, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    }
  };
  onLiveEvent = (event) => {
    if (event.sessionId !== id) return;
    if (reading || event.seq > lastSeq + 1) {
      waiting.push(event);
      catchUp();
    } else {
      apply(event);
    }
  };
  onStreamOpen = catchUp;
  catchUp();
}

/** The follow-up form (between turns) and the cancel button (during one). */
function sessionControls(id) {
  const prompt = h('textarea', { id: 'reply-prompt', rows: 3, placeholder: 'Reply or give the next instruction', 'aria-label': 'Reply' });
  const problem = h('div', { id: 'session-error', class: 'error', role: 'alert' });
  const reply = h('form', { id: 'reply-form', class: 'reply-form', hidden: true },
    prompt, h('div', {}, h('button', { type: 'submit', id: 'reply-send' }, 'Send')));
  const cancel = h('button', { type: 'button', id: 'cancel-run', class: 'deny', hidden: true }, 'Cancel run');
  const post = async (button, path, body) => {
    problem.textContent = '';
    button.disabled = true;
    try {
      await api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return true;
    } catch (error) {
      problem.textContent = error.message;
      return false;
    } finally {
      button.disabled = false;
    }
  };
  const send = reply.querySelector('button');
  reply.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (await post(send, `/api/sessions/${encodeURIComponent(id)}/messages`, { prompt: prompt.value })) {
      prompt.value = '';
      reply.hidden = true;
    }
  });
  cancel.addEventListener('click', () => post(cancel, `/api/sessions/${encodeURIComponent(id)}/cancel`, {}));
  /** Between turns the reply box; during one (in the daemon's run registry), Cancel. */
  const show = (status, cancellable) => {
    reply.hidden = status === 'running' || cancellable;
    cancel.hidden = !cancellable;
  };
  return { element: h('div', { class: 'session-controls' }, cancel, reply, problem), show };
}

/** Folds a session's events, in `seq` order, into the transcript element. */
function transcriptRenderer(root) {
  const messages = new Map();
  const tools = new Map();
  const approvals = new Map();
  const toolArgs = new Map();

  const toolBlock = (id) => tools.get(id);
  const place = (node, toolCallId) => {
    const tool = toolCallId && toolBlock(toolCallId);
    (tool ? tool.querySelector('.tool-body') : root).append(node);
  };
  const atBottom = () => window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;

  const custom = (name, value) => {
    switch (name) {
      case 'sandbox.output': {
        const tool = value.toolCallId && toolBlock(value.toolCallId);
        let output = tool && tool.querySelector('.output');
        if (!output) {
          output = h('pre', { class: 'output' });
          place(output, value.toolCallId);
        }
        output.append(h('span', { class: value.stream }, value.text));
        break;
      }
      case 'sandbox.exited': {
        const tool = value.toolCallId && toolBlock(value.toolCallId);
        const badge = h('span', { class: `exit ${value.exitCode === 0 ? 'ok' : 'failed'}`, 'data-exit-code': value.exitCode },
          `exit ${value.exitCode} · ${ms(value.durationMs)} · ${value.backend}`);
        if (tool) tool.querySelector('summary').append(badge); else root.append(badge);
        break;
      }
      case 'file.changed':
        place(h('div', { class: 'file-change', 'data-path': value.path },
          h('div', { class: 'file-name' }, `${value.kind} ${value.oldPath ? `${value.oldPath} → ` : ''}${value.path}`),
          diffView(value.diff)), value.toolCallId);
        break;
      case 'approval.requested': {
        const card = approvalCard(value, false);
        approvals.set(value.id, card);
        place(card, value.toolCallId);
        break;
      }
      case 'approval.resolved': {
        const card = approvals.get(value.id);
        if (card) resolveCard(card, value);
        break;
      }
      case 'usage':
        root.append(h('div', { class: 'usage' },
          `${value.model} · ${number(value.inputTokens)} in / ${number(value.outputTokens)} out`
          + `${value.estimated ? ' (estimated)' : ''}`
          + `${value.costUsd !== undefined ? ` · ${usd(value.costUsd)}` : ''}`
          + ` · ${ms(value.latencyMs)}`
          + `${value.timeToFirstTokenMs !== undefined ? ` (first token ${ms(value.timeToFirstTokenMs)})` : ''}`));
        break;
      case 'context.compacted':
        root.append(h('div', { class: 'marker' }, 'Older turns were summarized for the model (the log keeps them).'));
        break;
      default:
        break;
    }
  };

  return (event) => {
    const following = atBottom();
    switch (event.type) {
      case 'RUN_STARTED':
        root.append(h('div', { class: 'marker' }, 'Run started ', timeOf(event.timestamp)));
        break;
      case 'RUN_FINISHED':
        root.append(h('div', { class: 'marker' }, 'Run finished ', timeOf(event.timestamp)));
        break;
      case 'RUN_ERROR':
        root.append(h('div', { class: 'run-error' }, event.code ? `${event.code}: ` : '', event.message));
        break;
      case 'TEXT_MESSAGE_START': {
        const text = h('div', { class: 'text' });
        const message = h('div', { class: 'message streaming empty', 'data-role': event.role, 'data-message-id': event.messageId },
          h('div', { class: 'role' }, event.role), text);
        messages.set(event.messageId, text);
        root.append(message);
        break;
      }
      case 'TEXT_MESSAGE_CONTENT': {
        const text = messages.get(event.messageId);
        if (text) {
          text.append(event.delta);
          text.parentElement.classList.remove('empty');
        }
        break;
      }
      case 'TEXT_MESSAGE_END': {
        const text = messages.get(event.messageId);
        if (text) text.parentElement.classList.remove('streaming');
        break;
      }
      case 'TOOL_CALL_START': {
        const args = h('pre', { class: 'args' });
        const block = h('details', { class: 'tool running', 'data-tool-call-id': event.toolCallId, 'data-tool': event.toolCallName, open: true },
          h('summary', {}, h('span', { class: 'tool-name' }, event.toolCallName)),
          h('div', { class: 'tool-body' }, args));
        tools.set(event.toolCallId, block);
        toolArgs.set(event.toolCallId, '');
        root.append(block);
        break;
      }
      case 'TOOL_CALL_ARGS': {
        const block = toolBlock(event.toolCallId);
        if (!block) break;
        toolArgs.set(event.toolCallId, toolArgs.get(event.toolCallId) + event.delta);
        block.querySelector('.args').textContent = toolArgs.get(event.toolCallId);
        break;
      }
      case 'TOOL_CALL_END': {
        const block = toolBlock(event.toolCallId);
        if (!block) break;
        try {
          block.querySelector('.args').textContent = JSON.stringify(JSON.parse(toolArgs.get(event.toolCallId)), null, 2);
        } catch { /* shown as it came */ }
        break;
      }
      case 'TOOL_CALL_RESULT': {
        const result = h('pre', { class: `result${event.isError ? ' error' : ''}` }, event.content);
        const block = toolBlock(event.toolCallId);
        if (block) {
          block.classList.remove('running');
          block.classList.add(event.isError ? 'failed' : 'done');
          block.querySelector('.tool-body').append(result);
        } else {
          root.append(result);
        }
        break;
      }
      case 'CUSTOM':
        custom(event.name, event.value);
        break;
      default:
        break;
    }
    if (following) window.scrollTo(0, document.body.scrollHeight);
  };
}

function diffView(diff) {
  const lines = diff.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return h('pre', { class: 'diff' }, lines.map((line) => {
    const kind = line.startsWith('+++') || line.startsWith('---') ? 'meta'
      : line.startsWith('@@') ? 'hunk'
        : line.startsWith('+') ? 'add'
          : line.startsWith('-') ? 'del' : 'ctx';
    return h('span', { class: kind }, `${line}\n`);
  }));
}

// ---- Approvals ------------------------------------------------------------------------

/** A request with its three answers; `linked` adds the session it came from. */
function approvalCard(request, linked) {
  const buttons = h('div', { class: 'decisions' }, DECISIONS.map(([decision, label]) => h('button', {
    type: 'button', 'data-decision': decision, class: decision,
    onclick: () => answer(request.id, decision, buttons),
  }, label)));
  return h('div', { class: 'approval pending', 'data-approval-id': request.id },
    h('div', { class: 'approval-title' }, h('strong', {}, request.tool), ' wants to ', request.summary),
    h('code', { class: 'action' }, request.action),
    h('div', { class: 'muted' },
      linked ? h('a', { href: `#/session/${encodeURIComponent(request.sessionId)}` }, request.sessionId) : null,
      linked ? ' · ' : null,
      'asked ', timeOf(request.requestedAt), ' · expires ', new Date(request.expiresAt).toLocaleTimeString()),
    buttons,
    h('div', { class: 'answer', role: 'status' }));
}

async function answer(id, decision, buttons) {
  for (const button of buttons.querySelectorAll('button')) button.disabled = true;
  const card = buttons.parentElement;
  try {
    await api(`/api/approvals/${encodeURIComponent(id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision }),
    });
    card.querySelector('.answer').textContent = `${label(decision)} — sent`;
  } catch (error) {
    card.querySelector('.answer').replaceChildren(errorBox(error));
    for (const button of buttons.querySelectorAll('button')) button.disabled = false;
  }
}

function label(decision) {
  return (DECISIONS.find(([d]) => d === decision) || [decision, decision])[1];
}

function resolveCard(card, resolved) {
  card.classList.remove('pending');
  card.classList.add(resolved.decision === 'deny' ? 'denied' : 'allowed');
  card.dataset.decision = resolved.decision;
  card.querySelector('.decisions').remove();
  card.querySelector('.answer').textContent =
    `${label(resolved.decision)} by ${resolved.by}${resolved.who ? ` (${resolved.who})` : ''}`;
}

function renderApprovals() {
  const list = h('div', { id: 'approval-list' });
  const questions = h('div', { id: 'question-list' });
  view.append(h('h1', {}, 'Approvals'),
    h('p', { class: 'muted' }, 'Actions outside the sandbox wait here, in every editor and MCP client at once; the first answer wins.'),
    list,
    h('h2', {}, 'Questions from MCP servers'),
    h('p', { class: 'muted' }, 'What the MCP servers the agent uses ask you; editors and MCP clients are asked too, the first reply wins.'),
    questions);
  const alive = viewAlive();
  const load = async () => {
    try {
      const pending = await api('/api/approvals');
      if (!alive()) return;
      const cards = pending.map((request) => approvalCard(request, true));
      list.replaceChildren(...(cards.length ? cards : [h('p', { class: 'muted', id: 'no-approvals' }, 'Nothing is waiting for an answer.')]));
    } catch (error) {
      if (alive()) list.replaceChildren(errorBox(error));
    }
  };
  // Cards are kept by id (a form being filled in survives another question arriving);
  // answered ones stay with their outcome, withdrawn ones go.
  const loadQuestions = async () => {
    try {
      const pending = await api('/api/questions');
      if (!alive()) return;
      const ids = new Set(pending.map((question) => question.id));
      for (const card of questions.querySelectorAll('.question.pending')) {
        if (!ids.has(card.dataset.questionId)) card.remove();
      }
      for (const stale of questions.querySelectorAll(':scope > :not(.question)')) stale.remove();
      for (const question of pending) {
        if (!questions.querySelector(`[data-question-id="${CSS.escape(question.id)}"]`)) {
          questions.append(questionCard(question));
        }
      }
      if (!questions.querySelector('.question.pending')) {
        questions.append(h('p', { class: 'muted', id: 'no-questions' }, 'No MCP server is asking anything.'));
      }
    } catch (error) {
      if (alive()) {
        for (const stale of questions.querySelectorAll(':scope > :not(.question)')) stale.remove();
        questions.append(errorBox(error));
      }
    }
  };
  onLiveEvent = (event) => {
    if (event.type === 'CUSTOM' && event.name.startsWith('approval.')) load();
    if (event.type !== 'QUESTION') return;
    const card = questions.querySelector(`[data-question-id="${CSS.escape(event.question.id)}"]`);
    if (event.question.type === 'resolved' && card) resolveQuestion(card, event.question);
    else loadQuestions();
  };
  onStreamOpen = () => { load(); loadQuestions(); };
  load();
  loadQuestions();
}

// ---- Questions from MCP servers (elicitation) ------------------------------------------

const INPUT_TYPES = { email: 'email', uri: 'url', date: 'date', 'date-time': 'datetime-local' };

/** The choices of an enum (`enum` with `enumNames`, or `oneOf`/`anyOf` of constants). */
function choicesOf(schema) {
  if (Array.isArray(schema.enum)) {
    return schema.enum.map((value, i) => [value, (schema.enumNames || [])[i] ?? String(value)]);
  }
  const options = schema.oneOf || schema.anyOf;
  if (Array.isArray(options) && options.every((o) => 'const' in o)) {
    return options.map((o) => [o.const, o.title ?? String(o.const)]);
  }
  return null;
}

/** One form field for a property of the requested schema, with a `read()` of its value. */
function questionField(name, schema, required) {
  const id = `q-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const title = schema.title || name;
  const labelled = () => h('label', { for: id }, title, required ? ' *' : '');
  const help = schema.description ? h('div', { class: 'muted' }, schema.description) : null;
  const choices = choicesOf(schema);
  const itemChoices = schema.type === 'array' && schema.items ? choicesOf(schema.items) : null;
  if (schema.type === 'boolean') {
    const input = h('input', { type: 'checkbox', id, name, checked: schema.default === true });
    return { node: h('div', { class: 'field check' }, input, labelled(), help), read: () => input.checked };
  }
  if (itemChoices) {
    const boxes = itemChoices.map(([value, text]) => [value, h('input', {
      type: 'checkbox', name, checked: (schema.default || []).includes(value),
    }), text]);
    return {
      node: h('fieldset', { class: 'field', id }, h('legend', {}, title), help,
        boxes.map(([, box, text]) => h('label', {}, box, ' ', text))),
      read: () => boxes.filter(([, box]) => box.checked).map(([value]) => value),
    };
  }
  if (choices) {
    const input = h('select', { id, name, required },
      required ? null : h('option', { value: '' }, '—'),
      choices.map(([value, text], i) => h('option', { value: String(i), selected: value === schema.default }, text)));
    return {
      node: h('div', { class: 'field' }, labelled(), input, help),
      read: () => (input.value === '' ? undefined : choices[Number(input.value)][0]),
    };
  }
  const numeric = schema.type === 'number' || schema.type === 'integer';
  const input = h('input', {
    id, name, required,
    type: numeric ? 'number' : INPUT_TYPES[schema.format] || 'text',
    step: schema.type === 'integer' ? '1' : numeric ? 'any' : null,
    min: schema.minimum, max: schema.maximum, minlength: schema.minLength, maxlength: schema.maxLength,
    value: schema.default,
  });
  return {
    node: h('div', { class: 'field' }, labelled(), input, help),
    read: () => {
      if (input.value === '') return undefined;
      return numeric ? Number(input.value) : input.value;
    },
  };
}

/** Whether `url` is an http(s) page (the daemon offers no other; this page checks again). */
function webPage(url) {
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

const REPLIES = { accept: 'Answered', decline: 'Declined', cancel: 'Withdrawn' };

/** Marks a question's card with its outcome; the form goes. */
function resolveQuestion(card, resolved) {
  card.classList.remove('pending');
  card.classList.add(resolved.action === 'accept' ? 'allowed' : 'denied');
  card.dataset.action = resolved.action;
  card.querySelector('.question-body').remove();
  card.querySelector('.answer').textContent = `${REPLIES[resolved.action] || resolved.action} by ${resolved.by}`;
}

/** A pending question: the form to fill in (or the page to open), Decline, and the outcome. */
function questionCard(question) {
  const status = h('div', { class: 'answer', role: 'status' });
  const send = async (reply, controls) => {
    for (const control of controls.querySelectorAll('button, input, select')) control.disabled = true;
    try {
      await api(`/api/questions/${encodeURIComponent(question.id)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(reply),
      });
      if (!status.textContent) status.textContent = 'Sent';
    } catch (error) {
      status.replaceChildren(errorBox(error));
      for (const control of controls.querySelectorAll('button, input, select')) control.disabled = false;
    }
  };
  const decline = (controls) => h('button', {
    type: 'button', class: 'deny', onclick: () => send({ action: 'decline' }, controls),
  }, 'Decline');
  let body;
  if (question.kind === 'url') {
    body = h('div', { class: 'decisions question-body' });
    body.append(
      webPage(question.url)
        ? h('a', { href: question.url, target: '_blank', rel: 'noopener noreferrer', class: 'url' }, question.url)
        : h('code', { class: 'url' }, question.url),
      h('button', { type: 'button', class: 'allow_once', onclick: () => send({ action: 'accept' }, body) }, 'Opened it'),
      decline(body));
  } else {
    const schema = question.schema || {};
    const required = new Set(schema.required || []);
    const fields = Object.entries(schema.properties || {})
      .map(([name, property]) => [name, questionField(name, property, required.has(name))]);
    body = h('form', { class: 'question-form question-body' }, fields.map(([, field]) => field.node));
    body.append(h('div', { class: 'decisions' },
      h('button', { type: 'submit', class: 'allow_once' }, 'Send'), decline(body)));
    body.addEventListener('submit', (event) => {
      event.preventDefault();
      const content = {};
      for (const [name, field] of fields) {
        const value = field.read();
        if (value !== undefined) content[name] = value;
      }
      send({ action: 'accept', content }, body);
    });
  }
  return h('div', { class: 'approval question pending', 'data-question-id': question.id },
    h('div', { class: 'approval-title' }, h('strong', {}, question.asker), ' asks: ', question.message),
    h('div', { class: 'muted' }, h('span', { class: 'path' }, question.workspace),
      ' · asked ', timeOf(question.askedAt), ' · expires ', new Date(question.expiresAt).toLocaleTimeString()),
    body,
    status);
}

// ---- Metrics --------------------------------------------------------------------------

const HISTOGRAM_TITLES = {
  model_latency_ms: 'Model call latency',
  model_ttft_ms: 'Time to first token',
  sandbox_exec_ms: 'Sandbox exec time',
};

function renderMetrics() {
  const root = h('div', { id: 'metrics' });
  view.append(h('h1', {}, 'Metrics'), root);
  const alive = viewAlive();
  const load = async () => {
    try {
      const metrics = await api('/api/metrics');
      if (alive()) root.replaceChildren(...metricsView(metrics));
    } catch (error) {
      if (alive()) root.replaceChildren(errorBox(error));
    }
  };
  const reload = debounce(() => { if (alive()) load(); }, 500);
  onLiveEvent = (event) => { if (event.type === 'RUN_FINISHED' || event.type === 'RUN_ERROR') reload(); };
  onStreamOpen = reload;
  load();
}

const TOKEN_SERIES = ['input tokens', 'output tokens'];
const RUN_SERIES = ['runs', 'sandbox execs'];

function metricsView(metrics) {
  const total = (name) => metrics.totals[name] || 0;
  const cards = [
    ['runs', 'Runs', number(total('runs'))],
    ['model_calls', 'Model calls', number(total('model_calls'))],
    ['tokens', 'Tokens in / out', `${number(total('input_tokens'))} / ${number(total('output_tokens'))}`],
    ['cost', 'Cost', usd(metrics.cost_usd)],
    ['tool_success', 'Tool success', metrics.tool_success_rate === null
      ? '—' : `${(metrics.tool_success_rate * 100).toFixed(1)}% of ${number(total('tool_calls'))}`],
    ['sandbox_execs', 'Sandbox execs', `${number(total('sandbox_execs'))} (${number(total('sandbox_exec_failures'))} non-zero)`],
    ['approvals', 'Approvals asked / denied', `${number(total('approvals_requested'))} / ${number(total('approvals_denied'))}`],
  ].map(([key, title, value]) => h('div', { class: 'card', 'data-metric': key },
    h('div', { class: 'card-title' }, title), h('div', { class: 'card-value' }, value)));
  const days = metrics.days;
  const dayLabel = (day) => new Date(day * 86400000).toISOString().slice(5, 10);
  return [
    h('div', { class: 'cards' }, cards),
    h('div', { class: 'charts' },
      chartPanel('tokens', 'Tokens per day', TOKEN_SERIES, barChart(days.map((d) => ({
        label: dayLabel(d.day),
        parts: [d.counters.input_tokens, d.counters.output_tokens],
      })), TOKEN_SERIES, number)),
      chartPanel('cost', 'Cost per day', ['cost'], barChart(days.map((d) => ({
        label: dayLabel(d.day), parts: [d.counters.cost_micro_usd / 1e6],
      })), ['cost'], usd)),
      chartPanel('runs', 'Runs and sandbox execs per day', RUN_SERIES, barChart(days.map((d) => ({
        label: dayLabel(d.day), parts: [d.counters.runs, d.counters.sandbox_execs],
      })), RUN_SERIES, number))),
    h('h2', {}, 'Latency'),
    h('div', { class: 'charts' }, Object.entries(metrics.histograms).map(([name, histogram]) =>
      h('div', { class: 'panel histogram', 'data-histogram': name },
        h('h3', {}, HISTOGRAM_TITLES[name] || name),
        h('p', { class: 'percentiles' },
          `${plural(histogram.count, 'call')} · mean ${histogram.count ? ms(Math.round(histogram.sum_ms / histogram.count)) : '—'} · p50 ${bound(histogram, 'p50')} · p90 ${bound(histogram, 'p90')} · p99 ${bound(histogram, 'p99')}`),
        barChart(histogram.bounds.map((b, i) => ({ label: b === null ? '∞' : `≤${ms(b)}`, parts: [histogram.counts[i]] })),
          ['calls'], number)))),
  ];
}

/** A percentile as "≤ bound", or "> last bound" in the open bucket. */
function bound(histogram, key) {
  if (histogram.count === 0) return '—';
  const value = histogram[key];
  if (value !== null) return `≤${ms(value)}`;
  return `>${ms(histogram.bounds[histogram.bounds.length - 2])}`;
}

function chartPanel(key, title, series, chart) {
  chart.setAttribute('data-chart', key);
  const legend = series.length < 2 ? null : h('div', { class: 'legend' },
    series.map((name, i) => h('span', { class: `series-${i}` }, name)));
  return h('div', { class: 'panel' }, h('h3', {}, title), legend, chart);
}

/** Stacked bars, one per item (`parts` stack bottom-up), with a tooltip per bar. */
function barChart(items, series, format) {
  const width = 480;
  const height = 160;
  const bottom = 20;
  const max = Math.max(1e-9, ...items.map((item) => item.parts.reduce((a, b) => a + b, 0)));
  const step = width / Math.max(1, items.length);
  const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img' });
  items.forEach((item, i) => {
    let y = height - bottom;
    item.parts.forEach((value, part) => {
      const barHeight = (value / max) * (height - bottom - 10);
      y -= barHeight;
      chart.append(svg('rect', {
        x: i * step + 1, y, width: Math.max(1, step - 2), height: barHeight, class: `series-${part}`,
      }, svg('title', {}, `${item.label} ${series[part]}: ${format(value)}`)));
    });
    const every = Math.ceil(items.length / 8);
    if (i % every === 0) {
      const anchor = i === 0 ? 'start' : i + every >= items.length ? 'end' : 'middle';
      const x = anchor === 'start' ? i * step : anchor === 'end' ? (i + 1) * step : i * step + step / 2;
      chart.append(svg('text', { x, y: height - 5, 'text-anchor': anchor }, item.label));
    }
  });
  chart.append(svg('text', { x: width - 2, y: 9, class: 'max', 'text-anchor': 'end' }, `max ${format(max)}`));
  return chart;
}

// ---- MCP servers ----------------------------------------------------------------------

function renderMcp() {
  const root = h('div', { id: 'mcp-servers' });
  view.append(h('h1', {}, 'MCP servers'),
    h('p', { class: 'muted' }, 'The servers each workspace configures, as the agent sees them. Crashed servers are restarted with backoff.'),
    root);
  const alive = viewAlive();
  const load = async () => {
    try {
      const status = await api('/api/status');
      if (!alive()) return;
      if (status.mcp.length === 0) {
        root.replaceChildren(h('p', { class: 'muted' }, 'No workspace has been opened yet.'));
        return;
      }
      root.replaceChildren(...status.mcp.map((workspace) => h('section', { 'data-workspace': workspace.workspace },
        h('h2', { class: 'path' }, workspace.workspace),
        ...(workspace.problems || []).map((problem) => h('p', { class: 'error-text mcp-problem' }, problem)),
        workspace.mcp_servers.length === 0
          ? h('p', { class: 'muted' }, 'No MCP servers are configured for this workspace.')
          : h('table', {},
            h('thead', {}, h('tr', {}, ['Server', 'Transport', 'Status', 'Tools', 'Restarts', 'Last error'].map((t) => h('th', {}, t)))),
            h('tbody', {}, workspace.mcp_servers.map((server) => h('tr', { 'data-server': server.name },
              h('td', {}, server.name),
              h('td', {}, server.transport),
              h('td', {}, statusPill(server.status)),
              h('td', {}, server.tool_count),
              h('td', {}, server.restarts),
              h('td', { class: 'error-text' }, server.last_error || '')))))),
      ));
    } catch (error) {
      if (alive()) root.replaceChildren(errorBox(error));
    }
  };
  const timer = setInterval(load, 3000);
  leaveView = () => clearInterval(timer);
  load();
}

// ---- Start ----------------------------------------------------------------------------

function start() {
  route();
  if (!token) return;
  follow();
  refreshDaemonStatus();
  refreshApprovalCount();
}

window.addEventListener('hashchange', route);
// Another tab signed in with a newer token: use it here too.
window.addEventListener('storage', (event) => {
  if (event.key === TOKEN_KEY && event.newValue && event.newValue !== token) {
    token = event.newValue;
    start();
  }
});
start();
