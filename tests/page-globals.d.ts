// Globals that tests give the demo's pages (see `demoPageHelpers` in helpers.mjs).
declare function notesText(): string;
declare function selectInNotes(text: string): void;
