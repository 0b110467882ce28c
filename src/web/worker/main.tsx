import { render } from "preact";

function WorkerPage() {
  return <h1>Help with your browser</h1>;
}

const root = document.getElementById("app");
if (root) render(<WorkerPage />, root);
