# The Windows side of zoom_room_log_tail (plugins/modules/zoom_room_log_tail.py): the same result shape,
# run by ansible.windows.win_powershell from tasks/main.yml. Read-only: files are opened for
# reading with sharing, so the app can keep writing. Not run in the lab (no Windows host); the
# shape is what evidence_logs() in plugins/filter/zoom_room_evidence.py reads.
[CmdletBinding()]
param (
    [string[]]$Paths = @(),
    [long]$MaxBytes = 1048576,
    [int]$MaxFilesPerDir = 5
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false

function New-LogEntry ([string]$Path, [string]$Requested, [string]$Status, [hashtable]$Fields = @{}) {
    $entry = @{
        path = $Path; requested = $Requested; status = $Status; size = $null; mtime = $null
        truncated = $false; content_b64 = ''; error = $null
    }
    foreach ($key in $Fields.Keys) { $entry[$key] = $Fields[$key] }
    $entry
}

function Read-LogTail ([string]$Path, [string]$Requested) {
    if (-not (Test-Path -LiteralPath $Path)) { return New-LogEntry $Path $Requested 'missing' @{ error = 'not found' } }
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return New-LogEntry $Path $Requested 'not_a_file' @{ error = 'not a regular file' }
    }
    try {
        $stream = [System.IO.File]::Open($Path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read,
            [System.IO.FileShare]'ReadWrite, Delete')
    } catch {
        return New-LogEntry $Path $Requested 'unreadable' @{ error = $_.Exception.Message }
    }
    try {
        $size = [long]$stream.Length
        $truncated = $size -gt $MaxBytes
        if ($truncated) { [void]$stream.Seek($size - $MaxBytes, [System.IO.SeekOrigin]::Begin) }
        $count = [int][Math]::Min($size, $MaxBytes)
        $buffer = New-Object byte[] $count
        $read = 0
        while ($read -lt $count) {
            $got = $stream.Read($buffer, $read, $count - $read)
            if ($got -le 0) { break }
            $read += $got
        }
        $start = 0
        if ($truncated) {
            # Drop the partial first line, as the POSIX module does.
            $newline = [Array]::IndexOf($buffer, [byte]10, 0, $read)
            $start = if ($newline -ge 0) { $newline + 1 } else { $read }
        }
        # ':' in a custom format string is the culture's DateTimeFormatInfo.TimeSeparator, not a literal colon
        # (learn.microsoft.com): the invariant culture keeps the POSIX module's ISO 8601 UTC form on every room.
        $mtime = [System.IO.File]::GetLastWriteTimeUtc($Path).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'",
            [Globalization.CultureInfo]::InvariantCulture)
        New-LogEntry $Path $Requested 'collected' @{
            size = $size; mtime = $mtime; truncated = $truncated
            content_b64 = [Convert]::ToBase64String($buffer, $start, $read - $start)
        }
    } catch {
        New-LogEntry $Path $Requested 'unreadable' @{ error = $_.Exception.Message }
    } finally {
        $stream.Dispose()
    }
}

$logs = [System.Collections.Generic.List[object]]::new()
foreach ($requested in $Paths) {
    $path = [Environment]::ExpandEnvironmentVariables($requested)
    # One path that cannot be read is that path's 'unreadable' entry; the others are still read. Test-Path
    # writes an access error and returns $false (microsoft/PowerShellForGitHub#48), which Stop turns into a
    # throw that would otherwise end the script and leave every path of the room unread.
    try {
        if (Test-Path -LiteralPath $path -PathType Container) {
            # Stop, not SilentlyContinue: a folder that cannot be listed is unreadable, not empty.
            $files = @(Get-ChildItem -LiteralPath $path -File -ErrorAction Stop |
                Sort-Object -Property LastWriteTimeUtc -Descending | Select-Object -First $MaxFilesPerDir)
            if ($files.Count -eq 0) {
                $logs.Add((New-LogEntry $path $requested 'empty_dir' @{ error = 'folder holds no regular file' }))
                continue
            }
            foreach ($file in $files) { $logs.Add((Read-LogTail $file.FullName $requested)) }
        } else {
            $logs.Add((Read-LogTail $path $requested))
        }
    } catch {
        $logs.Add((New-LogEntry $path $requested 'unreadable' @{ error = $_.Exception.Message }))
    }
}
$Ansible.Result = @{ logs = @($logs) }
