// The case network explorer, drawn by Cytoscape.js in the page itself (a frameless component):
// a node's info panel on click, expand on double-click or from the panel, hide with Delete or
// from the panel, pin from the panel. Every action goes back to the server as one trigger,
// {action: "expand" | "hide" | "pin", node}; the server decides what the next view holds.
// Text from the drop is only ever set as textContent, never parsed as markup.

const libraries = new Map(); // url -> Promise of the cytoscape factory, loaded once per page
const drawn = new WeakMap(); // host element -> {cy, signature, panel}

function cytoscapeAt(url) {
  if (!libraries.has(url)) {
    libraries.set(url, import(url).then((module) => module.default));
  }
  return libraries.get(url);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function scaffold(host, height) {
  let root = host.querySelector(":scope > .case-network");
  if (!root) {
    root = element("div", "case-network");
    root.append(element("div", "case-network-canvas"), element("div", "case-network-panel"));
    root.tabIndex = 0; // Delete reaches the graph once it has the focus
    host.append(root);
  }
  root.style.height = `${height}px`;
  return root;
}

function showPanel(state, target, data) {
  const { panel, send } = state;
  panel.replaceChildren();
  const fields = target.data();
  panel.append(element("div", "case-network-title", fields.name || fields.id));
  const list = element("dl");
  for (const [name, value] of Object.entries(fields)) {
    if (data.hidden_fields.includes(name) || value === undefined || value === null || value === "") continue;
    list.append(element("dt", "", name), element("dd", "", String(value)));
  }
  panel.append(list);
  const buttons = element("div", "case-network-actions");
  if (target.isNode()) {
    const id = fields.id;
    const pinned = Boolean(fields._pinned) && id !== data.root;
    if (id !== data.root) {
      // The root's neighbourhood is what the canvas starts with: only other nodes expand.
      buttons.append(button(data.labels.expand, () => send("expand", id)));
      buttons.append(button(data.labels.hide, () => send("hide", id)));
      buttons.append(button(pinned ? data.labels.unpin : data.labels.pin, () => send("pin", id)));
    }
  }
  buttons.append(button(data.labels.close, () => hidePanel(state)));
  panel.append(buttons);
  panel.classList.add("open");
}

function hidePanel(state) {
  state.panel.classList.remove("open");
  state.panel.replaceChildren();
}

function button(text, onClick) {
  const b = element("button", "", text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

// A redraw keeps where the analyst last saw each node: new nodes start beside a neighbour already
// placed and the force layout continues from there instead of scattering everything again.
function redraw(state, data) {
  const { cy } = state;
  const placed = new Map(cy.nodes().map((n) => [n.id(), { ...n.position() }]));
  cy.batch(() => {
    cy.elements().remove();
    cy.add(data.elements);
  });
  cy.style(data.style);
  let added = 0;
  cy.nodes().forEach((n) => {
    if (placed.has(n.id())) {
      n.position(placed.get(n.id()));
      return;
    }
    added += 1;
    const neighbour = n.neighborhood("node").filter((m) => placed.has(m.id())).first();
    const at = neighbour.length ? placed.get(neighbour.id()) : { x: 0, y: 0 };
    n.position({ x: at.x + 40 * Math.cos(added), y: at.y + 40 * Math.sin(added) });
  });
  cy.layout({ ...data.layout, randomize: false }).run();
}

function create(cytoscape, root, data, setTriggerValue) {
  const cy = cytoscape({
    container: root.querySelector(".case-network-canvas"),
    elements: data.elements,
    style: data.style,
    layout: data.layout,
    wheelSensitivity: 0.3,
    boxSelectionEnabled: true,
    selectionType: "additive",
  });
  const state = { cy, panel: root.querySelector(".case-network-panel"), data, signature: "", setTriggerValue };
  state.send = (action, node) => {
    hidePanel(state);
    state.setTriggerValue("action", { action, node });
  };
  cy.on("tap", "node, edge", (event) => showPanel(state, event.target, state.data));
  cy.on("tap", (event) => {
    if (event.target === cy) hidePanel(state);
  });
  cy.on("dbltap", "node", (event) => {
    if (event.target.id() !== state.data.root) state.send("expand", event.target.id());
  });
  root.addEventListener("keydown", (event) => {
    if (event.key !== "Delete" && event.key !== "Backspace") return;
    const chosen = cy.$("node:selected").map((n) => n.id()).filter((id) => id !== state.data.root);
    if (chosen.length) {
      event.preventDefault();
      state.send("hide", chosen[0]);
    }
  });
  return state;
}

export default function ({ data, parentElement, setTriggerValue }) {
  const root = scaffold(parentElement, data.height);
  const signature = JSON.stringify([data.elements, data.style]);
  const library = new URL(data.library, document.baseURI).href;
  cytoscapeAt(library).then((cytoscape) => {
    let state = drawn.get(parentElement);
    const fresh = !state || state.cy.destroyed() || state.signature !== signature;
    if (fresh) delete root.dataset.ready;
    if (!state || state.cy.destroyed()) {
      state = create(cytoscape, root, data, setTriggerValue);
      drawn.set(parentElement, state);
    } else if (state.signature !== signature) {
      hidePanel(state);
      redraw(state, data);
    }
    state.data = data;
    state.setTriggerValue = setTriggerValue;
    state.signature = signature;
    if (fresh) state.cy.one("render", () => { root.dataset.ready = "true"; }); // drawn, not only laid out
  });
  return () => {
    // Called before each redraw as well as on removal: the graph is kept unless its host is gone.
    setTimeout(() => {
      const state = drawn.get(parentElement);
      if (state && !parentElement.isConnected) {
        state.cy.destroy();
        drawn.delete(parentElement);
      }
    }, 0);
  };
}
