// The mocksmtp web page: lists sessions and messages as they arrive (it
// polls the JSON API every second), searches them with the API's filters,
// and shows one of them, with its DKIM and ARC results (a badge in the
// list marks a message whose signatures do not all pass, or whose ARC
// chain fails). Plain DOM, no dependencies, no innerHTML: every text the
// mail carries goes into text nodes, in a <bdi> of its own where it
// shares a line (iso), its bidi controls shown (bidiShown). Message HTML
// is shown in an iframe with sandbox="" (no scripts, no forms, an origin
// of its own), remote images blocked unless the user lets them load.
"use strict";

(() => {
  const pollEvery = 1000;
  const maxShown = 500; // the last ones; a long run may keep many more
  const state = {
    messages: [], // the last ones, in arrival order, as GET /api/messages gives them
    sessions: [], // the last ones, summaries without transcripts
    totalMessages: 0, // how many the server keeps (that match the search)
    totalSessions: 0,
    lastId: 0,
    searching: false, // a new search waits for its first answer
    filter: "", // the search as query parameters, "" for none
    gen: 0, // the round of polling: a new search starts a new one
    listKey: "",
    detailKey: "",
    remoteImages: localStorage.getItem("mocksmtp.remoteImages") === "load",
  };

  const $ = (id) => document.getElementById(id);

  // el builds an element: el("a", {href: "#x", class: "y"}, "text", child).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  async function fetchJSON(url, init) {
    const res = await fetch(url, Object.assign({ headers: { Accept: "application/json" } }, init));
    let data = null;
    if (res.status !== 204) data = await res.json();
    if (!res.ok) {
      const err = new Error((data && data.error) || res.statusText);
      err.status = res.status;
      throw err;
    }
    return { data, res };
  }

  function setStatus(text, isError) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("error", !!isError);
  }

  // route reads the location hash: #messages, #sessions, #message/3[/view], #session/2.
  function route() {
    const parts = location.hash.replace(/^#\/?/, "").split("/");
    switch (parts[0]) {
      case "message":
        return { list: "messages", kind: "message", id: Number(parts[1]), view: parts[2] || "" };
      case "session":
        return { list: "sessions", kind: "session", id: Number(parts[1]) };
      case "sessions":
        return { list: "sessions" };
      default:
        return { list: "messages" };
    }
  }

  // Dates in the user's locale: compact in lists (the time alone for
  // today), full in details, the exact time in a tooltip.
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

  function fmtTime(s) {
    if (!s) return "";
    const d = new Date(s);
    return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : dayFmt.format(d);
  }

  // timeEl is a <time> in the compact form, or the full one, with the
  // exact instant as its tooltip.
  function timeEl(s, full) {
    const d = new Date(s);
    return el("time", { datetime: s, title: d.toISOString() }, full ? fullFmt.format(d) : fmtTime(s));
  }

  function fmtSize(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1024 / 1024).toFixed(1) + " MiB";
  }

  // iso isolates a text of the mail (a name, an address, a file name)
  // from the text around it: a <bdi>, so that the bidi controls it may
  // hold (U+202E RIGHT-TO-LEFT OVERRIDE) end with it, and cannot turn the
  // address, the recipients or the verdict after it around. Every value
  // that shares a line with other text goes in one. Within it, the
  // controls show as what they are (bidiShown), and turn nothing.
  function iso(s) {
    return el("bdi", {}, bidiShown(s));
  }

  // bidiControls are the invisible characters that reorder the text
  // around them: ALM, LRM, RLM, the embeddings and overrides (LRE, RLE,
  // PDF, LRO, RLO) and the isolates (LRI, RLI, FSI, PDI).
  const bidiControls = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

  // bidiShown is s with each bidi control in it replaced by its code
  // point, marked: "invoice\u202Efdp.exe" reads invoice⟨U+202E⟩fdp.exe,
  // as the file is named, not invoiceexe.pdf. Nodes and strings for el.
  function bidiShown(s) {
    const text = String(s);
    const out = [];
    let at = 0;
    for (const m of text.matchAll(bidiControls)) {
      const cp = "U+" + m[0].codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
      out.push(text.slice(at, m.index), el("span", { class: "bidi-control", title: `a bidi control character, ${cp}` }, `⟨${cp}⟩`));
      at = m.index + m[0].length;
    }
    out.push(text.slice(at));
    return out;
  }

  // joined puts sep between the items of list: nodes and strings for el.
  function joined(list, sep) {
    return list.flatMap((x, i) => (i > 0 ? [sep, x] : [x]));
  }

  function fmtAddrs(list) {
    return joined((list || []).map((a) => (a.name ? [iso(a.name), " <", iso(a.address), ">"] : iso(a.address))), ", ");
  }

  function sessionSummary(s) {
    const msgs = s.messageIds.length;
    return [iso(s.remoteAddr), s.helo ? [" · ", iso(s.helo)] : "", ` · ${msgs} message${msgs === 1 ? "" : "s"}`];
  }

  // The search: "to:bob@example.com subject:Welcome" or "header.X-Id:7"
  // are the API's filters (GET /api/messages?to=...), names in any case;
  // a value with spaces is quoted, to:"Bob <bob@example.com>"; words
  // alone search the subject (subjectContains).
  //
  // The filters' names are learned, never listed here: they are the query
  // parameters of GET /api/messages in the OpenAPI document the program
  // serves (its tests hold the document to the code), but for those the
  // page sets itself.
  const pageParams = ["since", "limit"];
  let filterNames = null; // a promise of them, once asked

  function learnFilterNames() {
    filterNames = filterNames || fetchJSON("/api/openapi.json").then(({ data }) => {
      // resolve follows a $ref within the document ("#/components/parameters/inbox").
      const resolve = (p) => !p.$ref ? p : p.$ref.replace(/^#\//, "").split("/")
        .reduce((v, k) => v[decodeURIComponent(k).replace(/~1/g, "/").replace(/~0/g, "~")], data);
      return data.paths["/api/messages"].get.parameters.map(resolve)
        .filter((p) => p.in === "query" && !pageParams.includes(p.name)).map((p) => p.name);
    }).catch(() => {
      filterNames = null; // asked again at the next search; names as typed meanwhile
      return [];
    });
    return filterNames;
  }

  function parseSearch(q, filterNames) {
    const params = new URLSearchParams();
    const words = [];
    const tokens = q.match(/(?:[^\s"]+|"[^"]*")+/g) || [];
    for (const tok of tokens) {
      const m = /^([A-Za-z][\w.-]*):(.*)$/.exec(tok);
      const unquote = (v) => v.replace(/^"(.*)"$/, "$1");
      if (!m) {
        words.push(unquote(tok));
        continue;
      }
      let name = m[1];
      if (name.toLowerCase().startsWith("header.")) {
        name = "header." + name.slice(7);
      } else {
        name = filterNames.find((f) => f.toLowerCase() === name.toLowerCase()) || name;
      }
      params.append(name, unquote(m[2]));
    }
    if (words.length > 0) params.append("subjectContains", words.join(" "));
    return params.toString();
  }

  async function applySearch() {
    const filter = parseSearch($("q").value.trim(), await learnFilterNames());
    if (filter === state.filter) return;
    state.filter = filter;
    state.messages = [];
    state.totalMessages = 0;
    state.lastId = 0;
    state.searching = true; // until the first answer: the list is not stale, but empty
    $("search-error").hidden = true;
    state.gen++;
    clearTimeout(state.timer);
    render();
    poll();
  }

  // poll fetches what is new, then comes back in a second; a new search
  // starts a new round (gen), and the rounds before it end.
  async function poll() {
    const gen = state.gen;
    const filter = state.filter;
    const and = filter ? "&" + filter : "";
    try {
      const { data, res } = await fetchJSON(`/api/messages?since=${state.lastId}&limit=${maxShown}${and}`);
      if (gen !== state.gen) return; // a new search started meanwhile
      const total = Number(res.headers.get("X-Total-Count"));
      if (total === state.totalMessages + data.length) {
        state.messages.push(...data);
      } else {
        // Something was deleted (a reset, the retention limit), or more
        // arrived than are shown: start afresh.
        state.messages = (await fetchJSON(`/api/messages?limit=${maxShown}${and}`)).data;
      }
      state.messages = state.messages.slice(-maxShown);
      state.totalMessages = total;
      state.lastId = state.messages.reduce((m, x) => Math.max(m, x.id), state.lastId);
      const sessions = await fetchJSON(`/api/sessions?limit=${maxShown}`);
      state.sessions = sessions.data;
      state.totalSessions = Number(sessions.res.headers.get("X-Total-Count"));
      state.searching = false;
      setStatus(`live · updated ${timeFmt.format(new Date())}`);
      render();
    } catch (e) {
      if (gen !== state.gen) return;
      state.searching = false;
      if ((e.status === 400 || e.status === 404) && filter) {
        // A bad search (or an unknown inbox): the API names the parameter.
        $("search-error").textContent = e.message;
        $("search-error").hidden = false;
      } else {
        setStatus(`cannot reach mocksmtp: ${e.message}`, true);
      }
    }
    state.timer = setTimeout(poll, pollEvery);
  }

  function render() {
    const r = route();
    // A narrow window shows the list or the detail, not both.
    document.body.classList.toggle("has-detail", !!r.kind);
    renderLists(r);
    renderDetail(r);
  }

  function renderLists(r) {
    const key = JSON.stringify([
      r, state.filter, state.searching, state.totalMessages, state.totalSessions, state.messages.map((m) => m.id),
      state.sessions.map((s) => [s.id, s.ended, s.messageIds.length]),
    ]);
    if (key === state.listKey) return;
    state.listKey = key;

    $("tab-messages").classList.toggle("active", r.list === "messages");
    $("tab-sessions").classList.toggle("active", r.list === "sessions");
    $("count-messages").textContent = state.totalMessages;
    $("count-sessions").textContent = state.totalSessions;
    $("messages").hidden = r.list !== "messages";
    $("sessions").hidden = r.list !== "sessions";
    $("search").hidden = r.list !== "messages";
    const shown = r.list === "messages" ? state.messages : state.sessions;
    $("empty").hidden = shown.length > 0;
    $("empty").textContent = r.list !== "messages" ? "Nothing yet. Send mail to the SMTP port; it shows here as it arrives." :
      state.searching ? "Searching…" : state.filter ? "No message matches the search." :
        "Nothing yet. Send mail to the SMTP port; it shows here as it arrives.";

    $("messages").replaceChildren(...state.messages.slice().reverse().map((m) =>
      el("li", { class: "message" + (r.kind === "message" && r.id === m.id ? " selected" : ""), dataset: { id: m.id } },
        el("a", { href: `#message/${m.id}` },
          el("span", { class: "subject" }, bidiShown(m.subject || "(no subject)")),
          timeEl(m.received),
          el("span", { class: "who" }, iso(m.from || "<>"), " → ", joined(m.to.map(iso), ", ")),
          el("span", { class: "meta" }, dkimBadge(m.dkim), arcBadge(m),
            fmtSize(m.size) + (m.attachments.length ? ` · ${m.attachments.length} att.` : ""))))));

    $("sessions").replaceChildren(...state.sessions.slice().reverse().map((s) =>
      el("li", { class: "session" + (r.kind === "session" && r.id === s.id ? " selected" : ""), dataset: { id: s.id } },
        el("a", { href: `#session/${s.id}` },
          el("span", { class: "title" }, `Session ${s.id}`),
          timeEl(s.start),
          el("span", { class: "who" }, sessionSummary(s)),
          el("span", { class: s.live ? "meta live" : "meta" }, s.ended)))));
  }

  async function renderDetail(r) {
    let key = JSON.stringify([r, state.remoteImages]);
    if (r.kind === "session") {
      const s = state.sessions.find((x) => x.id === r.id);
      key += s ? `:${s.transcriptLines}:${s.ended}` : ":gone";
    }
    if (key === state.detailKey) return;
    state.detailKey = key;
    const detail = $("detail");
    const back = el("a", { class: "back", href: `#${r.list}` }, r.list === "sessions" ? "← Sessions" : "← Messages");
    // A view is built with awaits (the API, an HTML view's cid: images):
    // a render that a newer one overtook meanwhile shows nothing.
    const show = (...nodes) => {
      if (state.detailKey === key) detail.replaceChildren(...nodes);
    };
    try {
      if (r.kind === "message") {
        show(back, await messageView(r.id, r.view));
      } else if (r.kind === "session") {
        show(back, await sessionView(r.id));
      } else {
        show(el("p", { class: "hint" }, "Select a message or a session."));
      }
    } catch (e) {
      show(back, el("p", { class: "hint" }, e.message));
    }
  }

  // withCIDs replaces the cid: URLs of the HTML by the attachments they
  // name, as data: URLs: the HTML's iframe has an origin of its own, and
  // the API refuses its requests as it refuses any other origin's.
  async function withCIDs(html, m) {
    const cidRE = /cid:([^"'\s)>]+)/gi;
    const byCID = new Map(m.attachments.filter((a) => a.contentId).map((a) => [a.contentId, a]));
    const key = (id) => {
      try { return decodeURIComponent(id); } catch (e) { return id; }
    };
    const data = new Map(); // attachment URL → its data: URL
    for (const [, id] of html.matchAll(cidRE)) {
      const a = byCID.get(key(id));
      if (!a || data.has(a.url)) continue;
      data.set(a.url, ""); // not loaded: the cid: stays
      try {
        const res = await fetch(a.url);
        if (!res.ok) continue;
        const blob = await res.blob();
        data.set(a.url, await new Promise((resolve, reject) => {
          const r = new FileReader();
          r.onload = () => resolve(r.result);
          r.onerror = () => reject(r.error);
          r.readAsDataURL(blob);
        }));
      } catch (e) { /* the message is gone: the cid: stays */ }
    }
    return html.replace(cidRE, (all, id) => {
      const a = byCID.get(key(id));
      return (a && data.get(a.url)) || all;
    });
  }

  async function messageView(id, view) {
    const m = (await fetchJSON(`/api/messages/${id}`)).data; // with its MIME parts
    const views = [];
    if (m.text) views.push(["text", "Text"]);
    if (m.html) views.push(["html", "HTML"]);
    views.push(["headers", "Headers"]);
    if (m.parts) views.push(["parts", "Parts"]);
    views.push(["raw", "Raw"], ["transcript", "Transcript"]);
    if (!views.some(([v]) => v === view)) view = views[0][0];

    const fields = el("dl", { class: "fields" },
      el("dt", {}, "Envelope from"), el("dd", { class: "env-from" }, iso(m.from || "<>")),
      el("dt", {}, "Envelope to"), el("dd", { class: "env-to" }, joined(m.to.map(iso), ", ")),
      m.headerFrom && [el("dt", {}, "From"), el("dd", {}, fmtAddrs(m.headerFrom))],
      m.headerTo && [el("dt", {}, "To"), el("dd", {}, fmtAddrs(m.headerTo))],
      m.cc && [el("dt", {}, "Cc"), el("dd", {}, fmtAddrs(m.cc))],
      m.date && [el("dt", {}, "Date"), el("dd", { class: "date" }, timeEl(m.date, true))],
      el("dt", {}, "Received"), el("dd", { class: "received" }, timeEl(m.received, true)),
      el("dt", {}, "Size"), el("dd", {}, fmtSize(m.size)),
      el("dt", {}, "Session"), el("dd", {}, el("a", { href: `#session/${m.sessionId}` }, `Session ${m.sessionId}`)),
      stateView(m.sent, ["Sent after HELO", "Sent over TLS", "Sent with AUTH"], "sent"),
      m.parseError && [el("dt", {}, "Parse error"), el("dd", { class: "parse-error" }, m.parseError)],
      dkimView(m.dkim),
      arcView(m),
      findingsView(m.findings));

    const atts = m.attachments.length === 0 ? null : el("ul", { class: "attachments" },
      m.attachments.map((a) => el("li", { class: "attachment" },
        el("a", { href: a.url, download: a.filename || `attachment-${a.index}` }, iso(a.filename || `attachment ${a.index}`)),
        el("span", { class: "meta" }, `${a.contentType} · ${fmtSize(a.size)}${a.inline ? " · inline" : ""}`))));

    const tabs = el("nav", { class: "tabs" },
      views.map(([v, label]) => el("button", {
        type: "button", class: v === view ? "active" : "", dataset: { view: v },
        onclick: () => { location.hash = `#message/${m.id}/${v}`; },
      }, label)),
      el("a", { href: `${m.rawUrl}?download`, download: `message-${m.id}.eml` }, "Download .eml"));

    return el("article", { id: "message-detail", dataset: { id: m.id, view } },
      el("h2", { class: "subject" }, bidiShown(m.subject || "(no subject)")),
      fields, atts, tabs, await bodyView(m, view));
  }

  // htmlDocument is the srcdoc of the HTML view: the message's HTML, its
  // cid: images in data: URLs (withCIDs), and, unless the user lets
  // them load, a policy that blocks remote images (tracking pixels) and
  // every other fetch a mail could track its reader with as well
  // (<link rel=prefetch>, which img-src does not govern, nor does the
  // page's default-src 'self' in Chromium): nothing but inline styles
  // and data: fonts; and without the elements that reach the network
  // in spite of the policy (withoutFetches). The policy comes first, so
  // that the parser puts it in the head.
  async function htmlDocument(m) {
    const html = await withCIDs(m.html, m);
    if (state.remoteImages) return html;
    const policy = "default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; font-src data:";
    return withoutFetches(`<meta http-equiv="Content-Security-Policy" content="${policy}">`, html);
  }

  // fetchesAnyway are the elements of a message's HTML that make
  // Chromium touch the network although the policy forbids their fetch:
  // <link rel=preconnect> and dns-prefetch (no policy governs them) and
  // an <iframe> (a connection to its host opens before the policy stops
  // it). With them go what the policy blocks anyway and what could lead
  // elsewhere: every <link>, <meta http-equiv> (refresh, Link, a policy
  // of the mail's own), <base>, the other frames and plugins.
  const fetchesAnyway = "link, meta[http-equiv], base, iframe, frame, object, embed, fencedframe, portal";

  // withoutFetches is the document policy (a <meta>, the head's first
  // element once parsed) then html, without the elements of html that
  // fetchesAnyway names: policy + html itself when it has none (most
  // mail); else html re-serialized without them, and checked again, as
  // the frame will parse it, until none is left (a serialization may
  // parse into elements it was not written from: a <link> in a <style>'s
  // text, by namespace confusion); nothing of html when that does not
  // settle.
  function withoutFetches(policy, html) {
    for (let round = 0; round < 4; round++) {
      const doc = new DOMParser().parseFromString(policy + html, "text/html");
      const ours = doc.head.firstElementChild;
      const found = [...doc.querySelectorAll(fetchesAnyway)].filter((e) => e !== ours);
      if (found.length === 0) return policy + html;
      found.forEach((e) => e.remove());
      ours.remove();
      html = doc.documentElement.outerHTML;
    }
    return policy;
  }

  async function bodyView(m, view) {
    switch (view) {
      case "text":
        return el("pre", { class: "text" }, m.text);
      case "html": {
        const f = el("iframe", { class: "html", sandbox: "", title: "HTML body of the message", referrerpolicy: "no-referrer" });
        f.srcdoc = await htmlDocument(m);
        const toggle = el("label", { class: "remote-images" },
          el("input", {
            type: "checkbox", id: "block-remote-images", checked: !state.remoteImages,
            onchange: (e) => {
              state.remoteImages = !e.target.checked;
              localStorage.setItem("mocksmtp.remoteImages", state.remoteImages ? "load" : "block");
              render();
            },
          }),
          " Block remote images");
        return el("div", { class: "html-view" },
          el("div", { class: "toolbar" }, toggle),
          el("div", { class: "html-split" },
            el("section", { class: "rendered", "aria-label": "rendered" }, f),
            el("section", { class: "source", "aria-label": "source" }, el("pre", { class: "html-source" }, m.html))));
      }
      case "headers":
        return el("table", { class: "headers" }, el("tbody", {},
          m.headers.map((h) => el("tr", {}, el("td", {}, h.name), el("td", {}, bidiShown(h.value))))));
      case "parts":
        return el("ul", { class: "parts" }, partView(m, m.parts));
      case "raw": {
        const res = await fetch(m.rawUrl);
        if (!res.ok) throw new Error(`message ${m.id} is gone`);
        return el("pre", { class: "raw" }, await res.text());
      }
      case "transcript": {
        try {
          return transcriptView((await fetchJSON(`/api/sessions/${m.sessionId}`)).data);
        } catch (e) {
          return el("p", { class: "hint" }, `The transcript of session ${m.sessionId} is gone: ${e.message}`);
        }
      }
    }
    return el("p", {}, "");
  }

  // partView shows one MIME entity and its parts: its type, what it is
  // to the message (the text, the HTML, an attachment), its details.
  function partView(m, p) {
    const details = joined([p.filename && ['"', iso(p.filename), '"'], p.disposition && iso(p.disposition),
      p.encoding && iso(p.encoding), p.charset && iso(p.charset), fmtSize(p.size)].filter(Boolean), " · ");
    let is = null;
    if (p.body) is = el("a", { class: "is", href: `#message/${m.id}/${p.body}` }, p.body === "text" ? "the text" : "the HTML");
    else if (p.attachment !== undefined && m.attachments[p.attachment]) {
      const a = m.attachments[p.attachment];
      is = el("a", { class: "is", href: a.url, download: a.filename || `attachment-${a.index}` }, `attachment ${a.index}`);
    }
    return el("li", { class: "part" },
      el("span", { class: "type" }, iso(p.contentType)), " ", el("span", { class: "meta" }, details), is && [" → ", is],
      p.parts && p.parts.length > 0 && el("ul", {}, p.parts.map((c) => partView(m, c))));
  }

  // transcriptView shows a session's transcript, numbered as findings
  // number it: the transcript cap (-max-transcript-lines) keeps the first
  // lines of a long session (transcriptHead) and its last ones, and
  // -retain may forget the first lines; a note says which lines are gone.
  function transcriptView(s) {
    const line = (first) => (l, i) => el("li", { class: l.dir === "*" ? "note" : l.dir },
      el("span", { class: "n" }, first + i),
      el("span", { class: "at" }, `${l.atMs.toFixed(1)}ms`),
      el("span", { class: "dir" }, l.dir),
      el("span", { class: "line" }, bidiShown(l.text)));
    const head = s.transcriptHead || [];
    const forgotten = s.forgotten || 0;
    let note = null;
    if (head.length > 0 && forgotten > head.length) {
      note = `… lines ${head.length + 1} to ${forgotten} forgotten (the transcript cap, -max-transcript-lines) …`;
    } else if (head.length === 0 && forgotten > 0) {
      note = `(lines 1 to ${forgotten} forgotten: -retain or the transcript cap)`;
    }
    return el("div", { class: "transcript-view" },
      head.length > 0 && el("ol", { class: "transcript head", start: 1 }, head.map(line(1))),
      note && el("p", { class: "elided" }, note),
      el("ol", { class: "transcript", start: forgotten + 1 }, (s.transcript || []).map(line(forgotten + 1))));
  }

  // stateView shows how a session stands (its helo, tls and auth): a
  // session now, or as a message's client sent it (its "sent"), as rows
  // of a dl named by labels, each dt and dd of class cls as well (rows
  // of a dl are bare dt and dd, or each pair in a div, never both). TLS
  // says its version and cipher suite, then the certificates the client
  // presented (-client-ca): its own, then the rest of its chain in a
  // closed details, however many it sent; each one's subject, issuer and
  // SHA-256 fingerprint, the client's text in text nodes, as every value
  // of the mail.
  function stateView(st, labels, cls) {
    const [helo, tls, auth] = labels;
    const t = st.tls, certs = (t && t.peerCertificates) || [];
    const row = (label, name, ...value) => [
      el("dt", { class: cls }, label), el("dd", { class: cls ? `${cls} ${name}` : name }, value)];
    const cert = (c, label) => el("div", { class: "cert" },
      el("span", { class: "label" }, label),
      el("span", { class: "subject" }, iso(c.subject)),
      el("span", { class: "issuer" }, "issued by ", iso(c.issuer)),
      el("code", { class: "fingerprint" }, `SHA-256 ${c.sha256}`));
    const more = certs.length - 1;
    return [
      row(helo, "helo", iso(st.helo || "—")),
      row(tls, "tls",
        el("span", { class: "state" }, t ? `${t.version}, ${t.cipherSuite}` : "no"),
        certs.length > 0 && cert(certs[0], "client certificate "),
        more > 0 && el("details", { class: "chain" },
          el("summary", {}, `${more} more certificate${more === 1 ? "" : "s"}`),
          certs.slice(1).map((c) => cert(c, "then ")))),
      row(auth, "auth", st.auth ? authShown(st.auth) : "no"),
    ];
  }

  // authShown says an AUTH exchange as the Go API's AuthInfo.String
  // does: "PLAIN bob ok", and "PLAIN admin as bob ok" for a client that
  // logged in as bob asking to act as admin (its authorization identity);
  // "PLAIN bob refused: 535 5.7.8 nope (credentials accepted)" for good
  // credentials the client got no 235 for (a fault's reply at AUTH).
  function authShown(a) {
    const as = a.identity && a.identity !== a.username ? [iso(a.identity), " as "] : "";
    const verdict = !a.success ? " failed"
      : a.refused ? [" refused: ", iso(a.refused), " (credentials accepted)"] : " ok";
    return [iso(a.mechanism), " ", as, iso(a.username), verdict];
  }

  async function sessionView(id) {
    const s = (await fetchJSON(`/api/sessions/${id}`)).data;
    return el("article", { id: "session-detail", dataset: { id: s.id } },
      el("h2", {}, `Session ${s.id}`),
      el("dl", { class: "fields" },
        el("dt", {}, "Client"), el("dd", {}, s.remoteAddr),
        el("dt", {}, "Server"), el("dd", {}, s.localAddr),
        el("dt", {}, "Attempt"), el("dd", {}, s.attempt),
        el("dt", {}, "Started"), el("dd", {}, timeEl(s.start, true)),
        el("dt", {}, "Ended"), el("dd", { class: s.live ? "live" : "" }, s.live ? "live" : [`${s.ended}, `, timeEl(s.end, true)]),
        stateView(s, ["HELO", "TLS", "AUTH"]),
        s.error && [el("dt", {}, "Error"), el("dd", {}, s.error)],
        s.faults.length > 0 && [el("dt", {}, "Faults"), el("dd", { class: "faults" }, s.faults.map((f) => el("div", {}, f)))],
        findingsView(s.findings),
        el("dt", {}, "Messages"), el("dd", {}, s.messageIds.length === 0 ? "none" :
          s.messageIds.map((mid, i) => [i > 0 ? ", " : "", el("a", { href: `#message/${mid}` }, `message ${mid}`)]))),
      transcriptView(s));
  }

  // DKIM and ARC verdicts, each said in a word and an icon as well as a
  // colour: pass (green), fail and permerror (red: the signature is
  // wrong), temperror (amber: no -dkim-key for its domain and selector).
  const dkimLook = {
    pass: { icon: "✓", tone: "pass" },
    fail: { icon: "✗", tone: "fail" },
    permerror: { icon: "✗", tone: "fail" },
    temperror: { icon: "!", tone: "temp" },
  };

  function verdict(status, look = dkimLook[status] || { icon: "?", tone: "temp" }) {
    return el("span", { class: `verdict ${look.tone}` },
      el("span", { class: "icon", "aria-hidden": "true" }, look.icon), " ", status);
  }

  // dkimView shows one row per DKIM-Signature, in order: the verdict, why
  // it did not pass, the Authentication-Results summary and the header
  // fields it signs; nothing for a message without a signature.
  function dkimView(results) {
    if (!results || results.length === 0) return null;
    return [el("dt", {}, "DKIM"), el("dd", { class: "dkim-results" },
      results.map((d) => el("div", { class: `dkim ${(dkimLook[d.status] || { tone: "temp" }).tone}`, dataset: { status: d.status } },
        verdict(d.status), " ",
        el("span", { class: "signer" }, iso(d.domain || "(no domain)"), d.selector ? [" · selector ", iso(d.selector)] : ""),
        d.reason && el("span", { class: "reason" }, d.reason),
        el("code", { class: "summary" }, d.summary),
        d.headerKeys && d.headerKeys.length > 0 && el("span", { class: "signed" }, "signs ", joined(d.headerKeys.map(iso), ", ")))))];
  }

  // dkimBadge marks a listed message whose signatures do not all pass:
  // red when one fails (fail, permerror), else amber when a key is
  // missing (temperror); nothing when they pass or there is none.
  function dkimBadge(results) {
    const bad = (results || []).filter((d) => d.status !== "pass");
    if (bad.length === 0) return null;
    const worst = bad.find((d) => d.status === "fail" || d.status === "permerror") || bad[0];
    const look = dkimLook[worst.status] || { icon: "?", tone: "temp" };
    return [el("span", { class: `dkim-badge ${look.tone}`, title: bad.map((d) => d.summary).join("\n") },
      el("span", { class: "icon", "aria-hidden": "true" }, look.icon), ` DKIM ${worst.status}`), " "];
  }

  // arcLook is how the ARC verdict of message m looks: as DKIM's, but a
  // chain that failed only for a key not registered (no -dkim-key for a
  // sealer, the server's "arc" finding left out, as a DKIM temperror's is)
  // is amber, not red.
  function arcLook(m) {
    const noKey = m.arc.status === "fail" && !(m.findings || []).some((f) => f.rule === "arc");
    return noKey ? dkimLook.temperror : dkimLook[m.arc.status] || { icon: "?", tone: "temp" };
  }

  // arcView shows the validation of message m's ARC chain: the verdict,
  // why it failed, the Authentication-Results summary, then one row per
  // set, oldest first: its sealer, cv= and the verdicts of its seal and
  // message signature ("not verified" where validation stopped before
  // them). Nothing for a message without ARC sets.
  function arcView(m) {
    const arc = m.arc;
    if (!arc || arc.status === "none") return null;
    const tone = (status) => (dkimLook[status] || { tone: "temp" }).tone;
    const part = (name, status, reason) => el("span", { class: `part ${status ? tone(status) : ""}` }, `${name}: `,
      status ? verdict(status) : "not verified", reason && el("span", { class: "reason" }, reason));
    const look = arcLook(m);
    return [el("dt", {}, "ARC"), el("dd", { class: "arc-results" },
      el("div", { class: `arc ${look.tone}`, dataset: { status: arc.status } },
        verdict(arc.status, look),
        arc.reason && el("span", { class: "reason" }, arc.reason),
        el("code", { class: "summary" }, arc.summary)),
      arc.sets.map((s) => el("div", { class: "arc-set", dataset: { instance: s.instance } },
        el("span", { class: "signer" }, `i=${s.instance} `, iso(s.domain || "(no domain)"), s.selector ? [" · selector ", iso(s.selector)] : ""),
        ` · cv=${s.cv}`,
        part("seal", s.seal, s.sealReason),
        part("message signature", s.signature, s.signatureReason))))];
  }

  // arcBadge marks a listed message whose ARC chain fails: red, or amber
  // when only a key is missing (arcLook); nothing when it passes or there
  // is none.
  function arcBadge(m) {
    if (!m.arc || m.arc.status !== "fail") return null;
    const look = arcLook(m);
    return [el("span", { class: `arc-badge ${look.tone}`, title: m.arc.summary },
      el("span", { class: "icon", "aria-hidden": "true" }, look.icon), " ARC fail"), " "];
  }

  // findingsView lists the rules the client broke, each with its RFC
  // section and transcript line; nothing when there are none.
  function findingsView(findings) {
    if (!findings || findings.length === 0) return null;
    return [el("dt", {}, "Findings"), el("dd", { class: "findings" },
      findings.map((f) => el("div", { class: `finding ${f.severity}` },
        el("span", { class: "rule" }, `${f.severity} ${f.rule} (${f.ref})`), " ",
        f.message ? `message ${f.message}, ` : "",
        f.line ? el("a", { href: `#session/${f.session}` }, `line ${f.line}`) : "",
        ": ", iso(f.text))))];
  }

  async function resetAll() {
    try {
      await fetchJSON("/api/messages", { method: "DELETE" });
      state.messages = [];
      state.totalMessages = 0;
      state.listKey = state.detailKey = "";
      if (route().kind) location.hash = `#${route().list}`;
      render();
    } catch (e) {
      setStatus(`delete failed: ${e.message}`, true);
    }
  }

  window.addEventListener("hashchange", render);
  $("reset").addEventListener("click", resetAll);
  $("search").addEventListener("submit", (e) => { e.preventDefault(); applySearch(); });
  $("q").addEventListener("input", () => { clearTimeout(state.typing); state.typing = setTimeout(applySearch, 300); });
  render();
  poll();
  learnFilterNames();
})();
