// The workspace's router: a room when the address names one (?room=...), otherwise the
// team space's directory (?space=..., "team" by default). The notification bell runs on
// both. The page is loaded once this runs: the room or space connects after, showing
// its connection state meanwhile (and its error, if it cannot: the page says why itself).
import "./style.css";
import { startInbox } from "./inbox.js";

startInbox();
const room = new URLSearchParams(location.search).get("room")?.trim();
(room ? import("./room-page.js") : import("./home.js")).catch((err: unknown) => {
  console.warn("the page could not start:", err);
});
