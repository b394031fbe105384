// Kiosk idle timeout: after 60 seconds without a touch or key, clear the screen so the
// next person never sees the previous one's details.
(() => {
  const idleMs = 60000;
  let timer;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!document.querySelector('.display')) window.location.assign('/kiosk');
    }, idleMs);
  };
  ['pointerdown', 'keydown', 'touchstart'].forEach((e) => document.addEventListener(e, reset, { passive: true }));
  reset();
})();
