export { formatDate, formatPrice } from "../html";
export * from "./components";
export * from "./routes";
