// The sandbox page: draws the panels the server renders and reports what the person does.
// Nothing here talks to Slack or mail itself: each action is one POST to the sandbox, which
// sends the signed request Slack (or a mail server) would send to the app.
"use strict";
(() => {
  let week = 0;
  let busy = 0;

  function note(text) {
    document.getElementById("note").textContent = text || "";
  }

  async function post(path, body) {
    busy += 1;
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body || {}),
      });
      const answer = await response.json().catch(() => ({}));
      note(answer.ok ? "" : answer.error || "HTTP " + response.status);
      return answer;
    } finally {
      busy -= 1;
      await refresh();
    }
  }

  // Keyed items: only those whose HTML changed are replaced, so a half-typed reply or a ticked
  // box elsewhere survives the refresh.
  function reconcile(name, items) {
    const host = document.querySelector('[data-region="' + name + '"]');
    const existing = new Map([...host.children].map((el) => [el.dataset.key, el]));
    let previous = null;
    for (const item of items) {
      let el = existing.get(item.key);
      if (!el || el.dataset.hash !== item.hash) {
        const fresh = document.createElement("div");
        fresh.className = "item";
        fresh.dataset.key = item.key;
        fresh.dataset.hash = item.hash;
        fresh.innerHTML = item.html;
        if (el) el.replaceWith(fresh);
        el = fresh;
      }
      existing.delete(item.key);
      const wanted = previous ? previous.nextSibling : host.firstChild;
      if (wanted !== el) host.insertBefore(el, wanted);
      previous = el;
    }
    for (const el of existing.values()) el.remove();
    if (name === "dm" && String(items.length) !== host.dataset.count) {
      host.dataset.count = items.length;
      host.scrollTop = host.scrollHeight;
    }
  }

  async function refresh() {
    const response = await fetch("/api/regions?week=" + week);
    if (!response.ok) return;
    const data = await response.json();
    for (const [name, items] of Object.entries(data.regions)) reconcile(name, items);
  }

  // --- Block Kit state, as Slack puts it in payloads: {block_id: {action_id: {...}}} ---------
  const optionOf = (el) => JSON.parse(el.dataset.option);

  function stateOf(el) {
    const type = el.dataset.kind;
    switch (type) {
      case "static_select":
      case "overflow": {
        const chosen = el.selectedOptions[0];
        return { type, selected_option: chosen && chosen.dataset.option ? optionOf(chosen) : null };
      }
      case "multi_static_select":
        return { type, selected_options: [...el.selectedOptions].map(optionOf) };
      case "radio_buttons": {
        const chosen = el.querySelector("input:checked");
        return { type, selected_option: chosen ? optionOf(chosen) : null };
      }
      case "checkboxes":
        return { type, selected_options: [...el.querySelectorAll("input:checked")].map(optionOf) };
      case "plain_text_input":
      case "number_input":
        return { type, value: el.value === "" ? null : el.value };
      case "datepicker":
        return { type, selected_date: el.value || null };
      case "timepicker":
        return { type, selected_time: el.value || null };
      case "users_select":
        return { type, selected_user: el.value || null };
      case "multi_users_select":
        return { type, selected_users: [...el.selectedOptions].map((o) => o.value) };
      default:
        return null;
    }
  }

  function stateIn(surface) {
    const values = {};
    for (const el of surface.querySelectorAll("[data-kind]")) {
      const state = el.dataset.kind === "button" ? null : stateOf(el);
      if (!state) continue;
      (values[el.dataset.blockId] ||= {})[el.dataset.actionId] = state;
    }
    return values;
  }

  function interact(el, action) {
    const surface = el.closest("[data-surface]");
    return post("/api/act", {
      surface: surface.dataset.surface,
      entry: Number(surface.dataset.entry || 0),
      action: { action_id: el.dataset.actionId, block_id: el.dataset.blockId, ...action },
      state: stateIn(surface),
    });
  }

  document.addEventListener("click", (event) => {
    const el = event.target.closest("button");
    if (!el || el.disabled) return;
    if (el.dataset.kind === "button") {
      if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
      interact(el, {
        type: "button",
        value: el.dataset.value,
        text: { type: "plain_text", text: el.textContent },
      });
    } else if (el.dataset.modal === "submit") {
      post("/api/submit", { values: stateIn(el.closest("[data-surface]")) });
    } else if (el.dataset.modal === "close") {
      post("/api/close");
    } else if (el.dataset.clock) {
      post("/api/clock", { to: el.dataset.clock });
    } else if (el.dataset.reset) {
      if (window.confirm("Start the sandbox over? Everything here is forgotten.")) post("/api/reset");
    } else if (el.dataset.tab) {
      for (const tab of document.querySelectorAll("[data-tab]")) tab.classList.toggle("on", tab === el);
      document.getElementById("tab-dm").hidden = el.dataset.tab !== "dm";
      document.getElementById("tab-home").hidden = el.dataset.tab !== "home";
      if (el.dataset.tab === "home") post("/api/home");
    } else if (el.dataset.week) {
      week = Number(el.dataset.week);
      for (const tab of document.querySelectorAll("[data-week]")) tab.classList.toggle("on", tab === el);
      refresh();
    }
  });

  // In a message, a modal's actions block or the Home tab, a pick is sent at once (as Slack
  // does); inside a modal's input blocks it waits for Submit.
  document.addEventListener("change", (event) => {
    const el = event.target.closest("[data-kind]");
    if (el && el.dataset.kind !== "button" && !el.dataset.inInput) interact(el, stateOf(el));
    const sender = event.target.closest('select[name="sender"]');
    if (sender) sender.form.elements.other.hidden = sender.value !== "other";
  });

  document.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    if (form.id === "composer") {
      const text = form.elements.text.value.trim();
      if (text) post("/api/command", { text }).then((a) => a.ok && (form.elements.text.value = "/schedule "));
    } else if (form.dataset.reply) {
      const f = form.elements;
      post("/api/reply", {
        thread: form.dataset.reply,
        text: f.text.value,
        sender: f.sender.value,
        other: f.other.value,
        quote: f.quote.checked,
      }).then((a) => a.ok && (f.text.value = ""));
    }
  });

  refresh();
  setInterval(() => busy || refresh(), 1000);
})();
