// The print button of printable pages (CSP forbids inline handlers).
document.addEventListener('click', (e) => {
  if (e.target.closest('.print-button')) window.print();
});
