import React from "react";

interface ButtonProps {
  label: string;
}

export function Button({ label }: ButtonProps) {
  return <button onClick={() => track(label)}>{label}</button>;
}

function track(event: string) {
  console.log(event);
}
