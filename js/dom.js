// Tiny DOM helpers shared by the page's views. Text always goes in through textContent, so a value
// from a server (a host name, a date) or from the page's URL is shown as text and never parsed.

export const byId = (id) => document.getElementById(id);

/** Sets `node`'s text, touching the DOM only when it changed (ages tick four times a second). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** A new element with an optional class and text. */
export function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** A table cell holding `text`. */
export const cell = (text, className = "") => element("td", className, text);
