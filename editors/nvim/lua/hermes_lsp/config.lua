--- Options of require("hermes_lsp").setup{} and their defaults.
local M = {}

---@class hermes_lsp.Keymaps
---@field accept string|false  insert-mode key that accepts the ghost text (falls through when none shows)
---@field accept_line string|false  accepts only the first line of it
---@field next string|false  next suggestion
---@field prev string|false  previous suggestion
---@field dismiss string|false  hides the ghost text

---@class hermes_lsp.Options
---@field cmd string[]|nil  server command; nil finds hermes-lsp on PATH or in ./.venv
---@field filetypes string[]|nil  filetypes to attach to; nil attaches to every file buffer
---@field root_markers string[]
---@field settings table  the `hermes` settings section (camelCase keys, see the server's README)
---@field ghost_text { enabled: boolean, debounce_ms: integer, hl_group: string }
---@field keymaps hermes_lsp.Keymaps
M.defaults = {
  cmd = nil,
  filetypes = nil,
  root_markers = { ".git", ".hg", "pyproject.toml", "package.json", "go.mod", "Cargo.toml" },
  settings = {},
  ghost_text = { enabled = true, debounce_ms = 75, hl_group = "HermesGhostText" },
  keymaps = {
    accept = "<Tab>",
    accept_line = "<M-l>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
  },
}

---@type hermes_lsp.Options
M.options = vim.deepcopy(M.defaults)

--- The server command: the configured one, else hermes-lsp on PATH, else ./.venv/bin/hermes-lsp.
---@return string[]|nil cmd, string|nil problem
function M.server_cmd()
  if M.options.cmd then
    if vim.fn.executable(M.options.cmd[1]) == 1 then
      return M.options.cmd, nil
    end
    return nil, ("cmd[1] = %q is not an executable"):format(M.options.cmd[1])
  end
  if vim.fn.executable("hermes-lsp") == 1 then
    return { "hermes-lsp", "--stdio" }, nil
  end
  local venv = vim.fs.joinpath(vim.fn.getcwd(), ".venv", "bin", "hermes-lsp")
  if vim.fn.executable(venv) == 1 then
    return { venv, "--stdio" }, nil
  end
  return nil, "hermes-lsp was not found on PATH or in ./.venv"
end

M.install_hint = "it is not on PyPI: install it with `pipx install git+https://github.com/hermes-lsp/hermes-lsp` "
  .. "(or ./install.sh in a clone), or pass cmd = { '/path/to/hermes-lsp', '--stdio' } to require('hermes_lsp').setup{}"

return M
