// Small behaviours htmx does not cover. No inline scripts anywhere (CSP).
//
// FOCUS AFTER HTMX SWAPS: the markup convention (templates follow it; this file does the rest)
//
// When a swap is caused by the user (a click, key press or submit whose element, or the focus, was inside
// the element being replaced), focus is moved on purpose once the new content has settled, so the next Tab
// continues from where the user is looking instead of from <body>. Swaps htmx starts by itself (hx-trigger
// "load", "revealed", polling) never move focus, nor does a swap while the user has moved focus elsewhere.
//
// The element an htmx request swaps in (its hx-target, usually the <section> with hx-swap="outerHTML") says
// what it is with data-focus:
//   data-focus="form"     an edit form. Focus goes to the first invalid field ([aria-invalid="true"], which
//                         Django sets on fields with errors) or else the first error message (role="alert",
//                         .errorlist, .errors: made focusable with tabindex="-1"); when there is no error, to the
//                         element marked [data-autofocus] or else the first enabled field.
//   data-focus="display"  the section shown after Save or Cancel. Focus goes to its [data-focus-return] element
//                         (the Edit button), or else its first heading (given tabindex="-1"), or else the
//                         section itself (given tabindex="-1").
//   data-focus="none"     leave focus alone (htmx's own rule then keeps focus on an element with the same id).
// Without data-focus the same rules are inferred: content with a form that has a visible field is "form",
// anything else (an Edit button in a GET form included) is "display".
//
// In the same swaps, the text of a [role=status] or [role=alert] element in the new content (a "saved" note, a
// save error) is also written into the page's #announcer live region: an element that arrives with its text
// already inside is not reliably read out by screen readers, a change to a live region that was there is.
//
// [data-cancel] marks the Cancel of an inline edit form: Escape anywhere in that form activates it.
//
// Buttons that are links: an <a role="button"> (a Cancel that still works without JavaScript as a plain link)
// is activated by Space as well as Enter. Prefer a real <button> in a GET <form> for an action that opens
// something (the Edit buttons), which works without JavaScript too.

const FIELD = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
const ERROR = '[aria-invalid="true"], [role=alert], .errorlist, .errors';

function visible(el) {
  return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
}

function focusable(el) {
  if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) el.setAttribute("tabindex", "-1");
  el.focus();
  return el;
}

function focusInForm(root) {
  const error = [...root.querySelectorAll(ERROR)].find(visible);
  if (error) {
    // A field's own error message: focus the field (its label and the message are read with it).
    const field = error.matches(FIELD) ? error : error.closest(".field")?.querySelector(FIELD);
    return focusable(field && visible(field) ? field : error);
  }
  const first = root.querySelector("[data-autofocus]") || [...root.querySelectorAll(FIELD)].find(visible);
  return first ? focusable(first) : focusDisplay(root);
}

function focusDisplay(root) {
  const back = [...root.querySelectorAll("[data-focus-return]")].find(visible);
  if (back) return focusable(back);
  const heading = root.querySelector("h1, h2, h3, h4");
  return focusable(heading || root);
}

function announce(root) {
  const announcer = document.getElementById("announcer");
  const note = root.querySelector("[role=alert], [role=status]");
  if (!announcer || !note) return;
  announcer.textContent = "";
  // A new text node after a frame: the live region sees a change even when the same words come twice.
  requestAnimationFrame(() => (announcer.textContent = note.textContent.replace(/\s+/g, " ").trim()));
}

const pendingFocus = new WeakMap();

document.addEventListener("htmx:beforeSwap", (event) => {
  const { requestConfig, target, xhr } = event.detail;
  const trigger = requestConfig?.triggeringEvent;
  // htmx's own triggers (load, revealed, polling) come as CustomEvents or none; a user's come as clicks, keys,
  // submits (also the click console.js sends for Space on a link-button).
  if (!target || !xhr || !(trigger instanceof Event) || trigger instanceof CustomEvent) return;
  const active = document.activeElement;
  const lost = !active || active === document.body;
  if (target.contains(active) || (lost && target.contains(requestConfig.elt))) {
    pendingFocus.set(xhr, target.id || null);
  }
});

document.addEventListener("htmx:afterSettle", (event) => {
  const xhr = event.detail.xhr;
  if (!xhr || !pendingFocus.has(xhr)) return;
  const id = pendingFocus.get(xhr);
  pendingFocus.delete(xhr);
  const root = (id && document.getElementById(id)) || (event.target.isConnected ? event.target : null);
  if (!root) return;
  announce(root);
  const active = document.activeElement;
  const kept = active && active !== document.body;
  if (kept && !root.contains(active)) return; // the user went elsewhere while the request ran
  const fields = [...root.querySelectorAll("form")].some((form) => [...form.querySelectorAll(FIELD)].some(visible));
  const mode = root.dataset.focus || (fields ? "form" : "display");
  if (mode === "form") {
    // htmx puts focus back on a field with the same id (Enter pressed in it): keep it unless there is an error.
    if (!kept || [...root.querySelectorAll(ERROR)].some(visible)) focusInForm(root);
  } else if (mode === "display") {
    focusDisplay(root);
  }
});

document.addEventListener("keydown", (event) => {
  const link = event.target.closest?.('a[role="button"]');
  if (link && event.key === " ") {
    event.preventDefault();
    link.click();
  }
  // Escape in an inline edit form is its Cancel.
  if (event.key === "Escape" && !event.defaultPrevented && !event.target.closest?.("dialog")) {
    const cancel = event.target.closest?.("form")?.querySelector("[data-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  }
});

document.addEventListener("click", (event) => {
  const close = event.target.closest("[data-dismiss]");
  if (close) {
    const flash = close.closest(".flash");
    // Focus would fall to <body> with the message gone: put it on the page's main area instead.
    if (flash?.contains(document.activeElement)) document.getElementById("main")?.focus();
    flash?.remove();
  }
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.getElementById(copy.dataset.copy);
    navigator.clipboard?.writeText(source.value || source.textContent).then(() => {
      copy.textContent = "Copied";
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    });
  }
  const back = event.target.closest("[data-back]");
  if (back) { event.preventDefault(); history.back(); }
});

// A network failure of an htmx request: say so where the user looks.
document.addEventListener("htmx:sendError", () => {
  const flash = document.getElementById("flash");
  if (!flash) return;
  const div = document.createElement("div");
  div.className = "flash flash-error";
  div.setAttribute("role", "alert");
  div.textContent = "The console could not be reached. Check your connection and try again.";
  flash.append(div);
});

// Confirmation by typing a name: the submit button stays off until it matches.
document.addEventListener("input", (event) => {
  const input = event.target.closest("[data-confirm-value]");
  if (!input) return;
  const button = input.form?.querySelector("[data-confirm-submit]");
  if (button) button.disabled = input.value !== input.dataset.confirmValue;
});
