--- Options of require("hermes_lsp").setup{} and their defaults.
local M = {}

---@class hermes_lsp.Keymaps
---@field accept string|false  insert-mode key that accepts the ghost text (falls through when none shows)
---@field accept_line string|false  accepts only the first line of it
---@field accept_word string|false  accepts only its next word
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
---@field log_file string|false|nil  the server's log (:HermesLog); nil: stdpath("log")/hermes-lsp.log; false: stderr
M.defaults = {
  cmd = nil,
  filetypes = nil,
  root_markers = { ".git", ".hg", "pyproject.toml", "package.json", "go.mod", "Cargo.toml" },
  settings = {},
  log_file = nil,
  ghost_text = { enabled = true, debounce_ms = 75, hl_group = "HermesGhostText" },
  keymaps = {
    accept = "<Tab>",
    accept_line = "<M-l>",
    accept_word = "<M-Right>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
  },
}

---@type hermes_lsp.Options
M.options = vim.deepcopy(M.defaults)

--- Where the server writes its log (nil when it goes to stderr, i.e. Neovim's lsp.log).
---@return string|nil
function M.log_file()
  if M.options.log_file == false then
    return nil
  end
  return M.options.log_file or vim.fs.joinpath(vim.fn.stdpath("log"), "hermes-lsp.log")
end

local function with_log_file(cmd)
  local log = M.log_file()
  if not log or vim.tbl_contains(cmd, "--log-file") then
    return cmd
  end
  return vim.list_extend(vim.deepcopy(cmd), { "--log-file", log })
end

--- The server command: the configured one, else hermes-lsp on PATH, else ./.venv/bin/hermes-lsp.
---@return string[]|nil cmd, string|nil problem
function M.server_cmd()
  if M.options.cmd then
    if vim.fn.executable(M.options.cmd[1]) == 1 then
      return with_log_file(M.options.cmd), nil
    end
    return nil, ("cmd[1] = %q is not an executable"):format(M.options.cmd[1])
  end
  if vim.fn.executable("hermes-lsp") == 1 then
    return with_log_file({ "hermes-lsp", "--stdio" }), nil
  end
  local venv = vim.fs.joinpath(vim.fn.getcwd(), ".venv", "bin", "hermes-lsp")
  if vim.fn.executable(venv) == 1 then
    return with_log_file({ venv, "--stdio" }), nil
  end
  return nil, "hermes-lsp was not found on PATH or in ./.venv"
end

M.install_hint = "it is not on PyPI: install it with `pipx install git+https://github.com/hermes-lsp/hermes-lsp` "
  .. "(or ./install.sh in a clone), or pass cmd = { '/path/to/hermes-lsp', '--stdio' } to require('hermes_lsp').setup{}"

return M
