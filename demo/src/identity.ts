// Who you are in this tab: each tab is its own guest (an id and a name kept in this
// tab's sessionStorage, never part of any room). Changing your name reloads the page.

/** The team space the demo opens on when the address names none. */
export const DEFAULT_SPACE = "team";

export const nameInput = document.getElementById("my-name") as HTMLInputElement;

export const userId = sessionStorage.getItem("confab.userId") ?? crypto.randomUUID();
sessionStorage.setItem("confab.userId", userId);

export const userName = sessionStorage.getItem("confab.name") ?? `Guest ${Math.floor(Math.random() * 900 + 100)}`;
sessionStorage.setItem("confab.name", userName);
nameInput.value = userName;
nameInput.addEventListener("change", () => {
  sessionStorage.setItem("confab.name", nameInput.value.trim() || userName);
  location.reload();
});

/** The edge serving this page (spaces and inboxes live there too). */
export const edgeUrl = location.origin;

/** When `at` (ms since the epoch) was, in words. */
export function ago(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  return `${Math.round(h / 24)} d ago`;
}
