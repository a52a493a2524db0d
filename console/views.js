// The views behind the header's links, chosen by the URL's hash: the dialogs (no hash), a full
// visitor card (#visitor/<id>), the live visitors (#visitors), proactive chat (#proactive).
import { state } from './state.js';
import { $ } from './util.js';
import { showFull } from './full.js';
import { showMonitor } from './monitor.js';
import { showProactive } from './proactive.js';

export function route() {
  const h = location.hash;
  const m = /^#visitor\/(.+)$/.exec(h);
  let view = m ? 'visitor' : h === '#visitors' ? 'visitors' : h === '#proactive' ? 'proactive' : 'dialogs';
  if (!state.auth) view = 'dialogs';
  const was = state.view;
  state.view = view;
  $('app').classList.toggle('fullmode', view !== 'dialogs');
  for (const a of document.querySelectorAll('.views a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  showFull(view === 'visitor' ? decodeURIComponent(m[1]) : null);
  if (was !== view) {
    showMonitor(view === 'visitors');
    showProactive(view === 'proactive');
  }
}
