// Kiosk idle timeout: after 60 seconds without a touch or key, the screen starts over for
// the next person (/kiosk/start forgets what was typed and shown). Tests shorten the wait
// with `window.kioskIdleMs` set before the page loads.
(() => {
  const idleMs = window.kioskIdleMs || 60000;
  let timer;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!document.querySelector('.display')) window.location.assign('/kiosk/start');
    }, idleMs);
  };
  ['pointerdown', 'keydown', 'touchstart', 'input'].forEach((e) => document.addEventListener(e, reset, { passive: true }));
  reset();
})();
