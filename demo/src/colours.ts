/** A participant's colour: a hue from a hash of their id, the same on every page. */
export function participantColour(id: string): string {
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return `hsl(${(hash >>> 0) % 360} 70% 40%)`;
}
