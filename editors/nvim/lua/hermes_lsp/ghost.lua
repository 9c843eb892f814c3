--- Ghost text for Neovim 0.10/0.11, which have no vim.lsp.inline_completion.
---
--- After a keystroke in insert mode (debounced), ask the server for
--- `textDocument/inlineCompletion`, cancel the previous request if it is still running,
--- and draw the suggestion after the cursor with extmarks: the first line as inline
--- virtual text, the others as virtual lines. Typing the characters the ghost text
--- predicts keeps it (shortened) without a new request. Keymaps accept, cycle and
--- dismiss it; when no ghost text shows, they fall through to what the key did before.
local config = require("hermes_lsp.config")
local util = require("hermes_lsp.util")

local M = {}

local ns = vim.api.nvim_create_namespace("hermes_lsp_ghost")
M.namespace = ns

local TRIGGER_INVOKED = 1
local TRIGGER_AUTOMATIC = 2

---@class hermes_lsp.GhostState
---@field timer uv.uv_timer_t|nil
---@field request_id integer|nil
---@field texts string[]  suggestions, each as the text still to insert at the cursor
---@field replace integer  bytes after the cursor that accepting replaces
---@field index integer
---@field row integer  1-based row of the cursor the suggestions belong to
---@field prefix string  the line up to the cursor when they were drawn
---@field extmark integer|nil

---@type table<integer, hermes_lsp.GhostState>
local states = {}

local function state(bufnr)
  local s = states[bufnr]
  if not s then
    s = { texts = {}, replace = 0, index = 1, row = 0, prefix = "" }
    states[bufnr] = s
  end
  return s
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  local line = vim.api.nvim_get_current_line()
  return pos[1], pos[2], line
end

--- The text of a suggestion as a plain string (snippet placeholders keep their default text).
local function insert_text(item)
  local text = item.insertText
  if type(text) == "table" then
    text = text.value or ""
    text = text:gsub("%${%d+:([^}]*)}", "%1"):gsub("%$%d+", "")
  end
  return text or ""
end

--- What each item still has to add at the cursor, or nil when it does not continue the line.
---@return string|nil text, integer replace
local function remainder(item, row, col, line, encoding)
  local text = insert_text(item)
  local replace = 0
  if item.range then
    local start, finish = item.range.start, item.range["end"]
    if start.line ~= row - 1 then
      return nil, 0
    end
    local start_byte = util.byte_col(line, start.character, encoding)
    local typed = line:sub(start_byte + 1, col)
    if text:sub(1, #typed) ~= typed then
      return nil, 0 -- it rewrites what was typed: not something ghost text can show
    end
    text = text:sub(#typed + 1)
    if finish.line == row - 1 then
      replace = math.max(0, util.byte_col(line, finish.character, encoding) - col)
    end
  end
  return text, replace
end

--- Whether a suggestion is being fetched for the buffer (for the statusline's spinner).
function M.pending(bufnr)
  local s = states[(bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr]
  return s ~= nil and s.request_id ~= nil
end

function M.visible(bufnr)
  local s = states[bufnr or vim.api.nvim_get_current_buf()]
  return s ~= nil and s.extmark ~= nil and (s.texts[s.index] or "") ~= ""
end

--- The ghost text as drawn: the suggestion text and where (for tests and statuslines).
function M.current(bufnr)
  local s = states[bufnr or vim.api.nvim_get_current_buf()]
  if not s or not s.extmark then
    return nil
  end
  return { text = s.texts[s.index], index = s.index, count = #s.texts, row = s.row, col = #s.prefix }
end

function M.clear(bufnr)
  local s = states[bufnr]
  if not s then
    return
  end
  if s.extmark then
    pcall(vim.api.nvim_buf_del_extmark, bufnr, ns, s.extmark)
    s.extmark = nil
  end
  s.texts, s.index, s.replace = {}, 1, 0
end

local function render(bufnr)
  local s = state(bufnr)
  if s.extmark then
    pcall(vim.api.nvim_buf_del_extmark, bufnr, ns, s.extmark)
    s.extmark = nil
  end
  local text = s.texts[s.index]
  if not text or text == "" then
    return
  end
  local hl = config.options.ghost_text.hl_group
  local lines = vim.split(text, "\n", { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], hl } }
  end
  s.extmark = vim.api.nvim_buf_set_extmark(bufnr, ns, s.row - 1, #s.prefix, {
    virt_text = { { lines[1], hl } },
    virt_text_pos = "inline",
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = "combine",
    priority = 200,
  })
end

local function show(bufnr, texts, replace, row, prefix, index)
  local s = state(bufnr)
  s.texts, s.index, s.replace, s.row, s.prefix = texts, index or 1, replace, row, prefix
  render(bufnr)
end

--- Ask the server now (the debounce has passed); a newer request cancels this one.
--- `showing`: the suggestion on screen when the user asked for another one; the answer
--- then opens on the first suggestion that differs from it.
function M.request(bufnr, trigger_kind, showing)
  local client = util.client(bufnr)
  local s = state(bufnr)
  if not client or vim.api.nvim_get_current_buf() ~= bufnr or not vim.api.nvim_get_mode().mode:match("^i") then
    return
  end
  if not require("hermes_lsp.toggle").enabled(bufnr) then
    return
  end
  if s.request_id then
    util.cancel(client, s.request_id)
    s.request_id = nil
  end
  local encoding = client.offset_encoding or "utf-16"
  local params = vim.lsp.util.make_position_params(0, encoding)
  params.context = { triggerKind = trigger_kind or TRIGGER_AUTOMATIC }
  local row, col, line = cursor()
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local ok, id
  ok, id = util.request(client, "textDocument/inlineCompletion", params, function(err, result)
    if s.request_id == id then
      s.request_id = nil
      vim.api.nvim_exec_autocmds("User", { pattern = "HermesStatus", modeline = false })
    end
    if err or not result then
      return
    end
    -- Stale answers (the user typed or moved on meanwhile) are dropped.
    local now_row, now_col = cursor()
    if vim.api.nvim_get_current_buf() ~= bufnr or vim.api.nvim_buf_get_changedtick(bufnr) ~= tick then
      return
    end
    if now_row ~= row or now_col ~= col or not vim.api.nvim_get_mode().mode:match("^i") then
      return
    end
    local items = result.items or result
    local texts, replace, index = {}, 0, 1
    for _, item in ipairs(items) do
      local text, rep = remainder(item, row, col, line, encoding)
      if text and text ~= "" then
        texts[#texts + 1] = text
        replace = #texts == 1 and rep or replace
        if showing and index == 1 and text ~= showing and texts[1] == showing then
          index = #texts
        end
      end
    end
    if #texts > 0 then
      show(bufnr, texts, replace, row, line:sub(1, col), index)
    end
  end, bufnr)
  if ok then
    s.request_id = id
    vim.api.nvim_exec_autocmds("User", { pattern = "HermesStatus", modeline = false })
  end
end

local function schedule(bufnr)
  local s = state(bufnr)
  if not s.timer then
    s.timer = vim.uv.new_timer()
  end
  s.timer:stop()
  s.timer:start(
    config.options.ghost_text.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if vim.api.nvim_buf_is_valid(bufnr) then
        M.request(bufnr, TRIGGER_AUTOMATIC)
      end
    end)
  )
end

--- A keystroke: keep the ghost text if the user typed what it predicted, else ask again.
local function on_change(bufnr)
  local s = state(bufnr)
  local row, col, line = cursor()
  local prefix = line:sub(1, col)
  if s.extmark and row == s.row then
    if prefix == s.prefix then
      return -- the cursor event that follows a change we already handled
    end
    local typed = prefix:sub(#s.prefix + 1)
    local text = s.texts[s.index]
    if prefix:sub(1, #s.prefix) == s.prefix and text and #typed < #text and text:sub(1, #typed) == typed then
      for i, t in ipairs(s.texts) do
        s.texts[i] = t:sub(1, #typed) == typed and t:sub(#typed + 1) or ""
      end
      s.prefix = prefix
      render(bufnr)
      return
    end
  end
  M.clear(bufnr)
  schedule(bufnr)
end

--- The part of `text` that accepting a `unit` ("line" or "word") takes.
function M.head(text, unit)
  if unit == "line" then
    return text:match("^\n?[^\n]*")
  end
  -- A word: spaces, then letters/digits/_ or else one run of punctuation (or a newline).
  return text:match("^[ \t]*[%w_]+") or text:match("^[ \t]*[^%w_%s]+") or text:match("^%s[ \t]*") or text
end

--- Insert the ghost text at the cursor, or only its next line or word (`unit` "line" or
--- "word"), leaving the rest on screen. Returns false when none shows.
function M.accept(bufnr, unit)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if not M.visible(bufnr) then
    return false
  end
  local s = states[bufnr]
  local text = s.texts[s.index]
  local partial = false
  if unit then
    local head = M.head(text, unit)
    partial = #head < #text
    text = head
  end
  local replace = partial and 0 or s.replace
  local row, col = s.row, #s.prefix
  if partial then
    -- The rest stays: on_change sees the inserted text as typed ahead and shortens it.
    for i, t in ipairs(s.texts) do
      s.texts[i] = t:sub(1, #text) == text and t or ""
    end
  else
    M.clear(bufnr)
  end
  local lines = vim.split(text, "\n", { plain = true })
  local line_len = #(vim.api.nvim_buf_get_lines(bufnr, row - 1, row, false)[1] or "")
  vim.api.nvim_buf_set_text(bufnr, row - 1, col, row - 1, math.min(col + replace, line_len), lines)
  if #lines == 1 then
    vim.api.nvim_win_set_cursor(0, { row, col + #lines[1] })
  else
    vim.api.nvim_win_set_cursor(0, { row + #lines - 1, #lines[#lines] })
  end
  return true
end

--- Show the next (or previous) suggestion; with only one, ask the server for more
--- (an explicitly invoked request, which makes it sample different ones).
function M.cycle(bufnr, step)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local s = state(bufnr)
  if #s.texts > 1 then
    s.index = (s.index - 1 + step) % #s.texts + 1
    render(bufnr)
  else
    M.request(bufnr, TRIGGER_INVOKED, M.visible(bufnr) and s.texts[s.index] or nil)
  end
  return true
end

function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if not M.visible(bufnr) then
    return false
  end
  M.clear(bufnr)
  return true
end

--- Run what `lhs` did before our mapping (another plugin's mapping, or the key itself).
local function fall_through(lhs, previous)
  local keys, mode = lhs, "n"
  if previous and previous.callback then
    local result = previous.callback()
    if previous.expr ~= 1 or type(result) ~= "string" then
      return
    end
    keys, mode = result, previous.noremap == 1 and "n" or "m"
  elseif previous and previous.rhs and previous.rhs ~= "" then
    keys = previous.expr == 1 and vim.api.nvim_eval(previous.rhs) or previous.rhs
    mode = previous.noremap == 1 and "n" or "m"
  end
  -- "i": the key goes before whatever else is already typed ahead, where it was.
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), mode .. "i", false)
end

--- An insert-mode mapping that runs `action(bufnr)` and falls through when it returns false.
function M.map(bufnr, lhs, desc, action)
  if not lhs then
    return
  end
  local previous = vim.api.nvim_buf_call(bufnr, function()
    local found = vim.fn.maparg(lhs, "i", false, true)
    return (found.buffer == 1 and found.desc and found.desc:match("^Hermes")) and nil or found
  end)
  vim.keymap.set("i", lhs, function()
    if not action(bufnr) then
      fall_through(lhs, previous)
    end
  end, { buffer = bufnr, desc = "Hermes: " .. desc })
end

function M.attach(bufnr)
  if states[bufnr] and states[bufnr].attached then
    return
  end
  state(bufnr).attached = true
  local group = vim.api.nvim_create_augroup("hermes_lsp_ghost_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ "TextChangedI", "TextChangedP" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_change(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd("CursorMovedI", {
    group = group,
    buffer = bufnr,
    callback = function()
      local s = state(bufnr)
      local row, col = cursor()
      if s.extmark and (row ~= s.row or col ~= #s.prefix) then
        on_change(bufnr)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      local s = state(bufnr)
      if s.timer then
        s.timer:stop()
      end
      M.clear(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd({ "BufWipeout", "LspDetach" }, {
    group = group,
    buffer = bufnr,
    callback = function(ev)
      if ev.event == "LspDetach" and (ev.data and util.client(bufnr) and ev.data.client_id ~= util.client(bufnr).id) then
        return
      end
      M.detach(bufnr)
    end,
  })
  local keys = config.options.keymaps
  M.map(bufnr, keys.accept, "accept the suggestion", function(b)
    return M.accept(b)
  end)
  M.map(bufnr, keys.accept_line, "accept one line of the suggestion", function(b)
    return M.accept(b, "line")
  end)
  M.map(bufnr, keys.accept_word, "accept one word of the suggestion", function(b)
    return M.accept(b, "word")
  end)
  M.map(bufnr, keys.next, "next suggestion", function(b)
    return M.cycle(b, 1)
  end)
  M.map(bufnr, keys.prev, "previous suggestion", function(b)
    return M.cycle(b, -1)
  end)
  M.map(bufnr, keys.dismiss, "dismiss the suggestion", M.dismiss)
end

function M.detach(bufnr)
  local s = states[bufnr]
  if not s then
    return
  end
  if s.timer then
    s.timer:stop()
    s.timer:close()
  end
  M.clear(bufnr)
  states[bufnr] = nil
  pcall(vim.api.nvim_del_augroup_by_name, "hermes_lsp_ghost_" .. bufnr)
  local keys = config.options.keymaps
  for _, lhs in ipairs({ keys.accept, keys.accept_line, keys.accept_word, keys.next, keys.prev, keys.dismiss }) do
    if lhs then
      pcall(vim.keymap.del, "i", lhs, { buffer = bufnr })
    end
  end
end

return M
