// Tessera's web page: progressive enhancement only. Every form works without
// this script; it adds copy buttons, dialogs, the expiry advice, and keeps a
// value shown once out of the browser history.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  // A page showing a secret or password once: make this history entry the
  // page's plain GET address, so a reload (or Back/Forward) asks for the page
  // again, which never holds the value, and never re-submits the form.
  const oneTime = document.querySelector('[data-one-time]');
  if (oneTime) {
    history.replaceState(null, '', oneTime.dataset.oneTime);
  }

  // Copy buttons: shown only when the clipboard can be written.
  for (const button of document.querySelectorAll('button[data-copy]')) {
    if (!navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      const target = document.getElementById(button.dataset.copy);
      if (!target) return;
      const text = 'value' in target ? target.value : target.textContent;
      try {
        await navigator.clipboard.writeText(text.trim());
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Copy failed: select and copy by hand';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 4000);
    });
  }

  // Links that open a dialog instead of a page of their own.
  for (const link of document.querySelectorAll('a[data-dialog]')) {
    const dialog = document.getElementById(link.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== 'function') continue;
    link.addEventListener('click', (event) => {
      event.preventDefault();
      dialog.showModal();
      const first = dialog.querySelector('input:not([type=hidden]), button');
      if (first) first.focus();
    });
  }
  for (const button of document.querySelectorAll('dialog button[data-close]')) {
    button.hidden = false;
    button.addEventListener('click', () => button.closest('dialog').close());
  }

  // Advice when a secret would live less than 30 days.
  for (const input of document.querySelectorAll('input[name=expires_on]')) {
    const advice = input.form.querySelector('.advice');
    const update = () => {
      const chosen = Date.parse(input.value + 'T00:00:00Z');
      advice.hidden = !(chosen && chosen - Date.now() < 30 * 24 * 3600 * 1000);
    };
    input.addEventListener('input', update);
    update();
  }

  // Forms submit once: a double click must not create two secrets.
  for (const form of document.querySelectorAll('form[method=post]')) {
    form.addEventListener('submit', () => {
      for (const b of form.querySelectorAll('button[type=submit]')) b.disabled = true;
    });
  }
});
