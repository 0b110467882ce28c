import { render } from "preact";

function Dashboard() {
  return <h1>nano-dpow hub</h1>;
}

const root = document.getElementById("app");
if (root) render(<Dashboard />, root);
