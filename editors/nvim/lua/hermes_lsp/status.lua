--- The server's state for statuslines: its `hermes/status` notifications, the work it
--- reports with `$/progress` (a code action, indexing), a suggestion being fetched, and
--- whether suggestions are switched off here.
local M = {}

M.state = "starting"
M.message = ""
--- The title and message of the `$/progress` work under way ("" when none).
M.progress = ""
--- How many pieces of `$/progress` work have ended (tests wait on it).
M.finished = 0
local running = 0

local ICONS = {
  starting = "…",
  ready = "✓",
  indexing = "⟳",
  busy = "⟳",
  unreachable = "✗",
  error = "!",
  stopped = "✗",
  off = "○",
}

local function changed()
  vim.schedule(function()
    vim.api.nvim_exec_autocmds("User", { pattern = "HermesStatus", modeline = false })
  end)
end

--- Handler for the `hermes/status` notification.
function M.handler(_, params)
  if type(params) == "table" and type(params.state) == "string" then
    M.state = params.state
    M.message = type(params.message) == "string" and params.message or ""
    changed()
  end
end

--- LspProgress (our client's `$/progress`): remember it for the statusline and show it in
--- the message area, so a model action that takes seconds is not silent. Indexing, which
--- nobody asked for, stays in the statusline only.
function M.on_progress(value)
  if type(value) ~= "table" then
    return
  end
  if value.kind == "begin" then
    running = running + 1
    M.title = value.title or ""
  end
  local quiet = (M.title or ""):lower():find("index", 1, true) ~= nil
  if value.kind == "end" then
    running = math.max(0, running - 1)
    M.progress = ""
    M.finished = M.finished + 1
    if not quiet then
      vim.api.nvim_echo({ { "Hermes: " .. (value.message or "done") } }, false, {})
    end
  else
    M.progress = vim.trim(("%s %s"):format(M.title or "", value.message or ""))
    if not quiet then
      vim.api.nvim_echo({ { "Hermes ⟳ " .. M.progress } }, false, {})
    end
  end
  changed()
end

--- Commands we started and that have not finished show as busy.
function M.local_busy(delta)
  running = math.max(0, running + delta)
  changed()
end

--- A short string for a statusline, e.g. `Hermes ✓`, `Hermes ⟳` (a suggestion or an action
--- on its way), `Hermes ○ off` or `Hermes ✗ model unreachable`.
---@param bufnr integer|nil  the buffer it is for (default: the current one)
function M.statusline(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local fetching = package.loaded["hermes_lsp.ghost"] and require("hermes_lsp.ghost").pending(bufnr)
  local state = M.state
  if (running > 0 or fetching) and (state == "ready" or state == "indexing") then
    state = "busy"
  elseif state == "ready" and not require("hermes_lsp.toggle").enabled(bufnr) then
    state = "off"
  end
  local text = "Hermes " .. (ICONS[state] or "?")
  if state == "unreachable" then
    text = text .. " model unreachable"
  elseif state == "indexing" then
    text = text .. " indexing"
  elseif state == "off" then
    text = text .. " off"
  elseif state == "busy" and M.progress ~= "" then
    text = text .. " " .. M.progress
  end
  return text
end

return M
